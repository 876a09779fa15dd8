"""The base of every error that means "the user asked for something that cannot be done".

Entry points print these as one line and exit 2; anything else is a bug and keeps its traceback.
"""


class UserError(RuntimeError):
    """A mistake in configuration or input, with a message that says what to set."""


def find_user_error(exc: BaseException) -> UserError | None:
    """The ``UserError`` behind ``exc``, also when a wrapper (e.g. Hydra's
    ``InstantiationException``) raised it from one; None when it is a real bug."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, UserError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
