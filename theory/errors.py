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

    def named(self, names: dict) -> "InputError":
        """This error in a caller's words: ``names`` maps a parameter to what the caller calls it (a command line
        maps ``rtol`` to ``--rtol``).  Engines name their parameters (``InputError("rtol", 2.0, "must lie in
        (0, 1)", "use e.g. rtol=1e-8")``); the command line shows the option instead (``--rtol = 2.0: must lie in
        (0, 1); fix: use e.g. --rtol 1e-8``): the field, and the parameter where the fix names it as a word
        (``rtol=1e-8``, ``lower grid``).  The same error (``self``) when its field is not in ``names``."""
        import re

        name = names.get(self.field) if isinstance(self.field, str) else None
        if not name:
            return self
        # the parameter as a word of the fix: "rtol=1e-8" reads "--rtol 1e-8", "lower grid" reads "lower --grid"
        spaced = f"{name} " if name.startswith("-") else f"{name}="
        fix = re.sub(rf"(?<![\w\[.-]){re.escape(self.field)}(=|(?![\w-]))",
                     lambda m: spaced if m.group(1) else name, self.fix)
        out = type(self)(name, self.value, self.problem, fix)
        out.__cause__, out.__context__ = self.__cause__, self.__context__
        return out.with_traceback(self.__traceback__)


class ExpressionError(InputError):
    """A user expression is not a whitelisted SymPy expression."""


class NotTanhLike(InputError):
    """An activation violates sigma(0)=0, sigma'(0)=1, sigma''(0)=0."""
