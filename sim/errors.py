"""Input errors shared by every stage; the front door turns them into one line and exit status 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: names the field and what is allowed. Exit status 2, no traceback."""

    def __init__(self, field: str, problem: str, allowed: str | None = None):
        self.field = field
        self.problem = problem
        self.allowed = allowed
        msg = f"{field}: {problem}"
        if allowed:
            msg += f" (allowed: {allowed})"
        super().__init__(msg)
