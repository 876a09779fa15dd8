"""The base of every error that means "the user asked for something that cannot be done".

Entry points print these as one line and exit 2; anything else is a bug and keeps its traceback.
"""


class UserError(RuntimeError):
    """A mistake in configuration or input, with a message that says what to set."""
