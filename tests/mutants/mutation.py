"""Tools of the mutation tests: a plausible bug written into one function of the measurement path, the unmutated
quick run it is compared with, and the check that the mutant is caught.

:func:`mutate` edits the source text of one function (``old`` -> ``new``, the number of occurrences checked),
compiles the edited text in the function's own module namespace and installs the new code object on the function
object with ``monkeypatch``: every reference to the function (the claim registry's ``check``, another module's
import of it) then runs the mutant, and pytest restores the original code when the test ends.  Module-level
functions, methods and properties can be edited this way (their code objects have no free variables); a nested
function is edited through the function that defines it.

:class:`Baseline` is one paper's ordinary quick run, computed once per test module: one context per run group, as
the runner builds them (claims of a group share simulations), and each claim's verdict.  :meth:`Baseline.derive`
hands a mutant a copy of a group's context whose caches are its own dictionaries, so that a mutant that changes
only what is computed from the simulations reuses them without writing into the baseline; a mutant that changes a
simulation gets a fresh context (:func:`context`), or a copy without the cached entries it changes.
"""
from __future__ import annotations

import __future__

import ast
import copy
import dataclasses
import inspect
import textwrap

from verify.registry import REGISTRY, Status, load_papers

__all__ = ["mutate", "context", "Baseline", "MutantSurvived", "assert_caught"]


def mutate(monkeypatch, func, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` by ``new`` in the source of ``func`` (``count`` occurrences, no more and no fewer) and run
    the edited code in place of the original until the test ends (``func`` may be a property: its getter is
    edited)."""
    func = func.fget if isinstance(func, property) else inspect.unwrap(func)
    assert not func.__code__.co_freevars, f"{func.__qualname__} has free variables: edit its enclosing function"
    lines, first = inspect.getsourcelines(func)
    source = textwrap.dedent("".join(lines))
    found = source.count(old)
    assert found == count, f"{func.__qualname__}: {old!r} occurs {found} times in its source, expected {count}"
    tree = ast.parse(source.replace(old, new))
    tree.body[0].decorator_list = []               # only the code object is replaced: no decorator re-applied
    ast.increment_lineno(tree, first - 1)          # tracebacks point at the original file's lines
    code = compile(tree, inspect.getsourcefile(func), "exec",
                   flags=__future__.annotations.compiler_flag, dont_inherit=True)
    namespace: dict = {}
    exec(code, func.__globals__, namespace)        # defines the edited function only: no module global changes
    monkeypatch.setattr(func, "__code__", namespace[func.__name__].__code__)


def context(paper: str, profile: str = "quick", seed: int = 0):
    """A fresh context of ``paper`` at the quick profile (its run caches empty), as the runner makes it."""
    return load_papers()[paper].make_context(profile, seed=seed, backend="auto", device="cpu")


class Baseline:
    """The unmutated quick run of one paper: a context per run group and each claim's verdict, made on demand."""

    def __init__(self, paper: str):
        load_papers()                              # every claim registered, whichever test module runs first
        self.paper = paper
        self._contexts: dict = {}
        self._verdicts: dict = {}

    def context(self, claim_id: str):
        group = REGISTRY[claim_id].run_group
        if group not in self._contexts:
            self._contexts[group] = context(self.paper)
        return self._contexts[group]

    def verdict(self, claim_id: str):
        if claim_id not in self._verdicts:
            self._verdicts[claim_id] = REGISTRY[claim_id].check(self.context(claim_id))
        return self._verdicts[claim_id]

    def status(self, claim_id: str) -> Status:
        return self.verdict(claim_id).status

    def derive(self, claim_id: str, drop=lambda key: False):
        """A copy of the context ``claim_id`` ran on (after its unmutated verdict), with copies of its caches
        (dictionaries and lists) from which the entries whose key satisfies ``drop`` are left out."""
        self.verdict(claim_id)
        base = self.context(claim_id)
        out = copy.copy(base)
        for f in dataclasses.fields(base):
            value = getattr(base, f.name)
            if isinstance(value, dict):
                setattr(out, f.name, {k: v for k, v in value.items() if not drop(k)})
            elif isinstance(value, list):
                setattr(out, f.name, list(value))
        return out


class MutantSurvived(AssertionError):
    """A mutant that did not turn its claim's verdict to ``failed`` (the expected exception of the xfail tests
    that record a claim a plausible bug cannot move)."""


def assert_caught(ctx, claim_ids, expected: Status = Status.FAILED) -> None:
    """Run each claim's check on the mutated ``ctx``: every verdict must be ``expected`` (a check that raises fails
    the test: a crash is not a verdict, the runner would report it inconclusive)."""
    got = {cid: REGISTRY[cid].check(ctx) for cid in ([claim_ids] if isinstance(claim_ids, str) else claim_ids)}
    wrong = {cid: (v.status.value, (v.key or {}).get("measured"), (v.key or {}).get("why"))
             for cid, v in got.items() if v.status is not expected}
    if wrong:
        raise MutantSurvived(f"mutant not caught (expected {expected.value}): {wrong}")


def assert_baseline(base: Baseline, claim_ids, expected: Status | None = None) -> None:
    """The unmutated quick run gives each claim ``expected`` (default: the claim's own expectation at the quick
    profile, passed unless it records a finding, as in an ordinary quick run)."""
    for cid in [claim_ids] if isinstance(claim_ids, str) else claim_ids:
        v = base.verdict(cid)
        want = Status(REGISTRY[cid].expected("quick")["status"]) if expected is None else expected
        assert v.status is want, (cid, v.status.value, v.key)
