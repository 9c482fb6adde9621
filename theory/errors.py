"""Exception hierarchy shared by ``theory`` and ``verify``.

Every message names the offending field, shows its value and says how to fix
it, so that the command line can print it as one line and exit with status 2.
"""
from __future__ import annotations

__all__ = ["VerifierError", "InputError", "NotTanhLike", "ExpressionError"]


class VerifierError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(VerifierError, ValueError):
    """A user-supplied value is invalid.

    Parameters
    ----------
    field : str
        Where the value came from, e.g. ``"[model] alpha"``.
    value : object
        The offending value, shown with ``repr``.
    problem : str
        What is wrong with it.
    fix : str
        What to do instead.
    """

    def __init__(self, field: str, value: object, problem: str, fix: str):
        self.field, self.value, self.problem, self.fix = field, value, problem, fix
        super().__init__(f"{field} = {value!r}: {problem}; fix: {fix}")


class ExpressionError(InputError):
    """A user expression is not a whitelisted SymPy expression."""


class NotTanhLike(InputError):
    """An activation violates sigma(0)=0, sigma'(0)=1, sigma''(0)=0."""
