"""Moved to ``mycelium.explorer.problem_page`` for one commit, while site.py is split (issue 16)."""

from mycelium.explorer.problem_page import *  # noqa: F401,F403
