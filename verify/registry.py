"""The claim registry and the records every paper shares: statuses, tolerances, verdicts, claims, papers.

A claim checks one derived result (``theory/<paper>/<object>.py``) against
measurements (``verify/<paper>/<object>.py``).  Its ``check(ctx)`` returns a
:class:`Verdict` (what it found: the claim's id and title come from the
registration, :meth:`Claim.judge`); its ``negative_control(ctx)`` runs the *same* check against a
deliberately wrong prediction and must come out ``failed``.  Its optional
``calibrated_control(ctx)`` runs the same check against the derived prediction
perturbed by the smallest amount the claim says it resolves (at most twice its
tolerance) and must come out ``failed`` too: a claim whose calibrated control
does not fail cannot resolve its own tolerance.  Every verdict records its
``resolution``: the smallest error of the prediction it detects
(:func:`resolution`).

Paper packages register themselves (:func:`register_paper`) and their claims
(:func:`register`) when imported; :func:`load_papers` imports every paper
named in :data:`theory.PAPERS`, so this module never imports a paper, and
then every paper an installed package declares under the entry-point group
:data:`ENTRY_POINT_GROUP` (an outside paper: its entry point names the paper's
key and the module that registers its :class:`Paper`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from importlib import import_module
from typing import Any, Callable, Protocol

import theory

from .output import jsonable

__all__ = ["Status", "STATUSES", "PROFILE_NAMES", "Tolerance", "Verdict", "check_key", "key_number", "resolution",
           "check_resolution", "QUANTIFIERS", "ROW_OUTCOMES", "rows_of", "check_rows", "check_range", "Expectation",
           "EXPECT_PASSED", "meets_expectation", "Claim", "Paper", "Context", "REGISTRY", "PAPER_REGISTRY",
           "register", "register_paper", "load_papers", "claims_of", "claims_for", "ENTRY_POINT_GROUP"]


class Status(str, Enum):
    """The verdict of a claim (and of its negative control).

    ``error``: the check or its negative control raised (the runner records the traceback); never a verdict on
    the claim's mathematics, and never what a claim is expected to reach.
    """

    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"
    NOT_APPLICABLE = "not-applicable"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


#: the status words, in the order reports count them
STATUSES = tuple(s.value for s in Status)
#: the run profiles every paper provides
PROFILE_NAMES = ("quick", "default", "full")


@dataclass(frozen=True)
class Tolerance:
    """A named tolerance and why it has the value it has."""

    name: str
    value: float
    justification: str


@dataclass(frozen=True)
class Verdict:
    """What a claim's check found: frozen once built (a changed verdict is a new one, ``dataclasses.replace``).

    ``claim`` and ``title`` are written once, by the claim's registration: a check returns its verdict without them
    and :meth:`Claim.judge` fills both from the declaration, so that a check cannot report on another claim (a check
    whose verdict names a claim or a title is refused: an ``error`` verdict with its traceback).

    ``key`` is the one number a reader looks at first, shown in the report's
    summary table: ``{"quantity": str, "measured": float, "predicted": float
    or None, "margin": float or None, "why": str or None}``, where ``margin``
    is the used fraction of the tolerance (e.g. ``|error| / tolerance``) and
    ``why`` says in one sentence why a claim failed, was inconclusive or does
    not apply.  :func:`key_number` builds it (:mod:`verify.stats` has the
    shared margins: ratios, bands, counts, fractions of seeds).  The full
    ``predicted`` and ``measured`` dicts stay in the claim's section and in
    the JSON.

    The margin has one meaning for every claim, and a verdict that breaks it
    is refused (``ValueError`` naming the claim, :func:`check_key`):

    * ``passed``: a finite margin below 1 and no ``why``.  A rule that
      accepts its edge (``x <= tol``) is reported just below 1 there
      (:func:`verify.stats.margin_as_judged`).
    * ``failed``: a margin above 1, or None where the judged quantity has no
      finite value (no measurement, a run that diverged, too few points), and
      a ``why``.
    * ``inconclusive``: a margin above 1 (the point estimate is outside the
      tolerance but its uncertainty reaches in), or None where the verdict
      rests on something the margin does not measure (too few points, a
      control that did not fail), and a ``why``: never below 1, since the
      claim did not pass.
    * ``not-applicable``: no margin, and a ``why``.
    * ``error`` (the check or its control raised): no margin, and a ``why`` (usually no key at all: the runner
      writes an error verdict without one).

    A margin is never exactly 1 and never negative.

    ``resolution`` says what the check can detect (:func:`resolution`): ``{"detects": str, "value": float or
    None, "unit": str or None}``, e.g. ``{"detects": "t_half off by >= 0.75 %", "value": 0.0075, "unit":
    "relative"}``, the perturbation of the prediction its calibrated control makes; a check of a loose upper
    bound, which cannot resolve its own tolerance, says so (``"validity only; tightness measured: max ratio T"``,
    with ``validity_only`` true and the measured ``tightness``).  None: not recorded.

    ``range`` is what the claim was tested on, stated in the report's heading line of the claim: each name
    (``"seeds"``, ``"widths"``, ``"m"``, ``"d/w"``, ``"alpha"``, ``"steps"``, ...) with its values, a list of numbers or
    strings, one number or one string (:func:`check_range`).  None: not recorded (a claim that did not run).

    ``rows`` lists the rows (seeds, widths, set-ups, checkpoints) where the claim fails or holds only within
    tolerance, worst first (:func:`rows_of`): ``{"row": {"seed": 3}, "outcome": "failed" | "inconclusive" |
    "within tolerance", "margin": used fraction of the row's tolerance or None}``; a row that holds exactly (used
    nothing of its tolerance) is left out, and a claim of one quantity (a fit, a single run) has none (its key
    says it).  None: not recorded.
    """

    claim: str | None = field(default=None, kw_only=True)
    title: str | None = field(default=None, kw_only=True)
    status: Status
    predicted: object
    measured: object
    tolerance: Tolerance | None
    seeds: list = field(default_factory=list)
    fits: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    label: str = "check of a reconstructed theorem"
    figures: list = field(default_factory=list)
    key: dict | None = None
    resolution: dict | None = None
    range: dict | None = None
    rows: list | None = None

    def __post_init__(self):
        try:
            object.__setattr__(self, "status", Status(self.status))
        except ValueError:
            raise ValueError(f"status {self.status!r} not in {STATUSES}") from None
        who = self.claim or "a check's verdict"
        if self.status is Status.ERROR:
            raise ValueError(f"{who}: a check does not return 'error': the runner reports a check that raises "
                             "as an error, with its traceback (return passed, failed, inconclusive or not-applicable)")
        check_key(who, self.status, self.key)
        check_resolution(who, self.resolution)
        check_range(who, self.range)
        if self.rows is not None:
            object.__setattr__(self, "rows", jsonable(self.rows))
        check_rows(who, self.rows)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["status"] = self.status.value
        out["tolerance"] = None if self.tolerance is None else asdict(self.tolerance)
        return jsonable(out)


def check_key(claim: str, status, key: dict | None) -> None:
    """Raise ``ValueError`` naming ``claim`` when ``key`` contradicts ``status`` (the rule of :class:`Verdict`:
    passed below 1, failed and inconclusive above 1 or None, not-applicable and error None; a why exactly when
    the verdict did not pass).  A verdict without a key passes unchecked."""
    if key is None:
        return
    status = Status(status)
    margin, why = key.get("margin"), key.get("why")

    def refuse(problem: str):
        raise ValueError(f"{claim}: a {status.value} verdict {problem} (key {key!r}); the margin is the used "
                         "fraction of the tolerance: below 1 passes, above 1 does not (verify.registry.Verdict)")

    if margin is not None:
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not math.isfinite(margin) \
                or margin < 0:
            refuse(f"has margin {margin!r}: a margin is a finite number >= 0 or None")
        if margin == 1:
            refuse("has margin exactly 1: the rule put it on one side of its tolerance, and so must its margin")
    if status is Status.PASSED:
        if margin is None or margin >= 1:
            refuse(f"has margin {margin!r}: a passed claim used less than its tolerance (margin below 1)")
        if why is not None:
            refuse("says why it did not pass")
        return
    if status in (Status.NOT_APPLICABLE, Status.ERROR):
        if margin is not None:
            refuse(f"has margin {margin!r}: a claim that "
                   + ("does not apply" if status is Status.NOT_APPLICABLE else "raised") + " measured no margin")
    elif margin is not None and margin <= 1:
        refuse(f"has margin {margin!r}: a claim that did not pass shows a margin above 1 (or none, and why)")
    if not (isinstance(why, str) and why.strip()):
        refuse("does not say why it did not pass")


def key_number(quantity: str, measured, predicted=None, margin=None, why: str | None = None, *,
               interval=None, band=None) -> dict:
    """The ``key`` of a :class:`Verdict`: the headline quantity, its measured and predicted values, the used
    fraction of the tolerance (``margin``, below 1 passes; not finite: None) and, for a claim that did not pass,
    why.

    ``interval`` (the measured value's confidence interval) and ``band`` (the values of the quantity the
    tolerance accepts) are pairs ``[lo, hi]``, None for an open end; given, they are drawn in the figure a
    report makes for a claim that did not pass, and kept out of the key otherwise."""
    def num(x):
        return None if x is None else float(x)

    # a non-finite margin is reported as none, as the report's JSON would hold it
    margin = None if margin is None or not math.isfinite(float(margin)) else float(margin)
    out = {"quantity": quantity, "measured": num(measured), "predicted": num(predicted), "margin": margin,
           "why": why}
    for name, pair in (("interval", interval), ("band", band)):
        if pair is not None:
            lo, hi = pair
            out[name] = [num(lo), num(hi)]
    return out


def resolution(detects: str, value=None, unit: str | None = None, *, tightness=None) -> dict:
    """The ``resolution`` of a :class:`Verdict`: one sentence on the smallest error of the prediction the check
    detects (``detects``, what follows "detects" in a report, e.g. ``"t_half off by >= 0.75 %"``), that error as a number (``value``) and its
    ``unit`` (``"relative"``, ``"absolute"``, ``"exponent"``, ...).

    ``tightness``: the check is of an upper bound (or a threshold) that it cannot resolve, only confirm: the
    measured ratio of the quantity to its bound (its tightness).  ``detects`` then reads ``"validity only;
    tightness measured: max ratio T"`` followed by the given sentence, and ``validity_only`` is true."""
    out = {"detects": " ".join(str(detects).split()), "value": None if value is None else float(value),
           "unit": unit}
    if tightness is not None:
        t = float(tightness)
        out["detects"] = f"validity only; tightness measured: max ratio {t:.3g}" + (
            f" ({out['detects']})" if out["detects"] else "")
        out.update({"validity_only": True, "tightness": t})
    return out


def check_resolution(claim: str, res) -> None:
    """Raise ``ValueError`` naming ``claim`` unless ``res`` is None or a resolution (:func:`resolution`): a
    non-empty ``detects`` sentence, a finite ``value`` >= 0 or None, a ``unit`` string or None."""
    if res is None:
        return
    if not isinstance(res, dict):
        raise ValueError(f"{claim}: a resolution is a dict (verify.registry.resolution), not {res!r}")
    detects, value, unit = res.get("detects"), res.get("value"), res.get("unit")
    if not (isinstance(detects, str) and detects.strip()):
        raise ValueError(f"{claim}: a resolution says what it detects in one sentence ({res!r})")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not math.isfinite(value) or value < 0):
        raise ValueError(f"{claim}: a resolution's value is a finite number >= 0 or None ({res!r})")
    if unit is not None and not isinstance(unit, str):
        raise ValueError(f"{claim}: a resolution's unit is a string or None ({res!r})")


#: the two rules for a claim judged over seeds, as a key's ``quantifier`` and the report name them
QUANTIFIERS = {
    "every": "for every seed (run, set-up): one resolved counterexample (a row beyond its tolerance) fails the "
             "claim",
    "most": "typically (with high probability): passed when the 95 % Wilson interval of the fraction of seeds "
            "lies above 1/2",
}


#: what a listed row did (:func:`rows_of`)
ROW_OUTCOMES = ("failed", "inconclusive", "within tolerance")


def rows_of(entries) -> list:
    """The ``rows`` of a :class:`Verdict` from ``(where, margin, passed)`` triples, one per row the claim was
    judged on: ``where`` names the row (``{"seed": 3}``, ``{"width": 400, "seed": 1}``), ``margin`` is its used
    fraction of its tolerance (None: not measured) and ``passed`` whether it met its criterion (a string: its
    status, e.g. ``"inconclusive"``).  Kept: the rows that failed (or were inconclusive) and those that passed
    only within tolerance (a margin above 0); left out: rows that hold exactly.  Worst first: failed, then
    inconclusive, then by margin (unmeasured first)."""
    out = []
    for where, margin, passed in entries:
        margin = None if margin is None or not math.isfinite(float(margin)) else float(margin)
        if isinstance(passed, str):     # a status word (or a Status): passed holds within tolerance
            outcome = {"passed": "within tolerance"}.get(str(passed), str(passed))
        else:
            outcome = "within tolerance" if passed else "failed"
        if outcome == "within tolerance" and (margin is None or margin <= 0):
            continue
        out.append({"row": dict(where), "outcome": outcome, "margin": margin})
    out.sort(key=lambda r: (ROW_OUTCOMES.index(r["outcome"]), -math.inf if r["margin"] is None else -r["margin"]))
    return jsonable(out)


def _range_value_ok(v) -> bool:
    scalar = (int, float, str)
    if isinstance(v, bool):
        return False
    if isinstance(v, scalar):
        return not isinstance(v, float) or math.isfinite(v)
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(
        not isinstance(x, bool) and isinstance(x, scalar) and (not isinstance(x, float) or math.isfinite(x))
        for x in v)


def check_range(claim: str, rng) -> None:
    """Raise ``ValueError`` naming ``claim`` unless ``rng`` is None or a range (:class:`Verdict`): a non-empty
    dict of names to a finite number, a string or a non-empty list of them."""
    if rng is None:
        return
    if not isinstance(rng, dict) or not rng:
        raise ValueError(f"{claim}: a verdict's range is a non-empty dict of what it was tested on, not {rng!r}")
    for name, v in rng.items():
        if not (isinstance(name, str) and name.strip()) or not _range_value_ok(v):
            raise ValueError(f"{claim}: range {name!r}: {v!r} is not a finite number, a string or a non-empty "
                             "list of them")


def check_rows(claim: str, rows) -> None:
    """Raise ``ValueError`` naming ``claim`` unless ``rows`` is None or a list of rows (:func:`rows_of`)."""
    if rows is None:
        return
    if not isinstance(rows, list):
        raise ValueError(f"{claim}: a verdict's rows are a list (verify.registry.rows_of), not {rows!r}")
    for r in rows:
        if not (isinstance(r, dict) and isinstance(r.get("row"), dict) and r.get("outcome") in ROW_OUTCOMES):
            raise ValueError(f"{claim}: a row is {{'row': dict, 'outcome': one of {ROW_OUTCOMES}, 'margin'}}, "
                             f"not {r!r}")
        m = r.get("margin")
        if m is not None and (isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m)
                              or m < 0):
            raise ValueError(f"{claim}: a row's margin is a finite number >= 0 or None ({r!r})")


@dataclass(frozen=True)
class Expectation:
    """A documented finding: the verdict a claim reaches on the project's own set-up when that verdict is not
    ``passed`` (a measured result against the source, say), and why, in one sentence.

    ``profiles``: the profiles where the finding holds (default: every profile); at the others the claim
    expects ``passed``.  A claim registers it in one line, e.g. ``claim(..., expect=Expectation("failed",
    "the talk's observation does not hold on our small network"))``; several, for different profiles, as a
    tuple.  ``passed`` is every claim's expectation unless it says otherwise, and ``error`` (a check that
    raises) is never expected, so the status is ``failed``, ``inconclusive`` or ``not-applicable``.
    """

    status: Status
    reason: str
    profiles: tuple = PROFILE_NAMES

    def __post_init__(self):
        try:
            status = Status(self.status)
        except ValueError:
            raise ValueError(f"expected status {self.status!r} not in {STATUSES}") from None
        if status in (Status.PASSED, Status.ERROR):
            raise ValueError(f"an expectation of {status.value!r} says nothing: every claim expects passed unless "
                             "it records a finding, and a check that raises (error) is never expected")
        if not (isinstance(self.reason, str) and self.reason.strip()):
            raise ValueError("an expectation says why, in one sentence (reason)")
        profiles = (self.profiles,) if isinstance(self.profiles, str) else tuple(self.profiles)
        unknown = [p for p in profiles if p not in PROFILE_NAMES]
        if not profiles or unknown:
            raise ValueError(f"an expectation's profiles are some of {PROFILE_NAMES}, not {list(profiles)!r}")
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "profiles", profiles)

    def as_dict(self) -> dict:
        """The record a report keeps (``{"status", "reason"}``; the profile is the report's own)."""
        return {"status": self.status.value, "reason": " ".join(self.reason.split())}


#: the record of a claim that expects to pass
EXPECT_PASSED = {"status": Status.PASSED.value, "reason": None}


def meets_expectation(status, expected) -> bool:
    """Whether a verdict ``status`` equals the ``expected`` one.  A claim that expects ``passed`` also meets it
    when it does not apply (``not-applicable``: nothing was checked, e.g. on a researcher's configuration); an
    ``error`` never meets an expectation."""
    status, expected = Status(status), Status(expected)
    if status is Status.ERROR:
        return False
    return status is expected or (expected is Status.PASSED and status is Status.NOT_APPLICABLE)


class Context(Protocol):
    """What a claim check receives; each paper defines its own (profile, seed, run cache)."""

    seed: int


@dataclass(frozen=True)
class Claim:
    """One registered claim.

    ``group`` names the claims that share simulations: the runner runs a group
    in one worker with one context (and so one run cache).  ``heuristic`` marks
    a measurement of a statement its paper argues without proof.  ``expect``
    records a documented finding (:class:`Expectation`, or a tuple of them for
    different profiles): the verdict the claim reaches on the project's own
    set-up when that is not ``passed``, and why; the command's exit status
    compares each verdict with it (:meth:`expected`).  ``calibrated_control`` (optional, with its
    ``calibrated_description``): the check against the derived prediction perturbed by the smallest amount the
    claim says it resolves (at most twice its tolerance); it must fail, or the runner reports the claim
    inconclusive ("cannot resolve its own tolerance").  ``cost``: a rough weight of the claim's run group
    (seconds of one core at the quick profile; 0 when unknown, the group's weight is its claims' largest): the
    runner submits the costliest groups first, so that the longest job does not start after the short ones.
    """

    id: str
    title: str
    paper: str                           # key of the paper package, e.g. "multistage"
    derivation: str                      # key of the derived result, e.g. "D9"
    check: Callable[[Any], Verdict]
    negative_control: Callable[[Any], Verdict]
    control_description: str
    group: str = ""
    heuristic: bool = False
    expect: tuple = ()
    calibrated_control: Callable[[Any], Verdict] | None = None
    calibrated_description: str = ""
    cost: float = 0.0

    def __post_init__(self):
        if self.calibrated_control is not None and not (isinstance(self.calibrated_description, str)
                                                        and self.calibrated_description.strip()):
            raise ValueError(f"{self.id}: a calibrated control says what it perturbs (calibrated_description)")
        expect = (self.expect,) if isinstance(self.expect, Expectation) else tuple(self.expect or ())
        if not all(isinstance(e, Expectation) for e in expect):
            raise ValueError(f"{self.id}: expect takes Expectation records, not {self.expect!r}")
        profiles = [p for e in expect for p in e.profiles]
        if len(profiles) != len(set(profiles)):
            raise ValueError(f"{self.id}: two expectations for one profile ({profiles})")
        object.__setattr__(self, "expect", expect)

    @property
    def run_group(self) -> str:
        return self.group or self.id

    def judge(self, check: Callable[[Any], Verdict], ctx) -> Verdict:
        """``check(ctx)`` (the claim's check or one of its controls) as this claim's verdict: its ``claim`` and
        ``title`` are the registration's, written here once.  A check returns what it found and nothing else: a
        result that is not a :class:`Verdict`, or a verdict that names a claim or a title itself, is refused
        (``TypeError``/``ValueError`` naming the claim; the runner reports it as an ``error`` with its traceback),
        so a check cannot produce a verdict of another claim."""
        verdict = check(ctx)
        if not isinstance(verdict, Verdict):
            raise TypeError(f"{self.id}: the check returned {type(verdict).__name__}, not a Verdict")
        if verdict.claim is not None or verdict.title is not None:
            raise ValueError(f"{self.id}: the check returned a verdict naming claim {verdict.claim!r}, title "
                             f"{verdict.title!r}: a claim's id and title are written once, by its registration "
                             "(return Verdict(status, ...) without them)")
        return replace(verdict, claim=self.id, title=self.title)

    def expected(self, profile: str) -> dict:
        """The expected verdict at ``profile``: ``{"status", "reason"}`` (``passed`` and no reason unless the
        claim records a finding there)."""
        for e in self.expect:
            if profile in e.profiles:
                return e.as_dict()
        return dict(EXPECT_PASSED)


@dataclass(frozen=True)
class Paper:
    """What a paper package tells the shared runner, report and command line: a declaration, not wiring.

    A paper package declares one ``Paper(...)``; its hooks may be given as ``".module:name"`` strings (relative to
    ``package``, dotted attribute paths allowed: ``".context:Context.make"``), resolved on first call, so that
    declaring a paper imports none of its numerics.  ``title``, ``arxiv`` and ``derivation`` default to the paper's
    theory package (:func:`theory.paper`), ``config`` to the context's ``config()`` and ``claim_modules`` to the
    modules of ``<package>.claims`` named after the derivation modules (``theory/<p>/<object>.py`` is checked by
    ``verify/<p>/claims/<object>.py``).

    Attributes
    ----------
    key, title, arxiv : str
        Identity as printed in listings and reports (from the paper's theory package).
    label, heuristic_label : str
        How a verdict of a claim (of a heuristic claim) is labelled in reports.
    package : str
        The module that declares the paper (``__name__``): where relative hook strings and claim modules are found.
    make_context : callable or str
        ``make_context(profile, seed=, backend=, device=)``: the context claim checks receive.
    config : callable or str or None
        ``config(profile, seed[, user])``: the base configuration recorded in the report (a dict); None: the
        context's ``config()`` (its ``as_dict()`` where it has one).
    derivation : callable
        ``derivation(key)``: the :class:`theory.Derivation` of a key.
    figures : callable or None
        ``figures(profile, seed, backend, device, out_dir)``: figures made from fresh runs (list of dicts).
    result_figures : callable or None
        ``result_figures(verdicts, out_dir)``: figures drawn from the verdicts (list of dicts).
    add_tools : callable or None
        ``add_tools(subparsers)``: the paper's tools under ``python -m verify <paper> <tool>``.
    read_config : callable or None
        ``read_config(path)``: a researcher's configuration file read and validated (a JSON-ready dict, or
        :class:`theory.InputError`); ``make_context(..., user=that dict)`` and ``config(profile, seed, user)``
        then check the claims on it, and a context's ``not_applicable(claim_id)`` names the claims whose
        assumptions it breaks.  None: the paper takes no configuration file.
    claim_modules : tuple of str or None
        Modules that register the paper's claims (imported by :func:`load_papers`; names relative to
        ``package``).  None: ``claims.<m>`` for each derivation module ``m`` that has one.
    setup_jobs : callable or None
        ``setup_jobs(profile, seed, backend, device, group)``: work a run group shares that other workers can do
        ahead, as ``(function, args)`` jobs (picklable); a process pool runs them first, side by side, and hands
        their results to the group's context (``make_context(..., prepared=[result, ...])``).  A group whose
        set-ups fail computes them itself.  None: no set-up jobs.
    check_run_options : callable or None
        ``check_run_options(backend, device)``: refuse (:class:`theory.InputError`) a ``--backend`` or
        ``--device`` the paper's engines do not know, before any work.  None: the paper takes any device word
        its context understands (``cpu``, ``cuda``) and ignores the backend.
    versions : callable or None
        ``versions()``: what the paper adds to a report's versions (e.g. whether a compiled kernel is built), a
        dict of strings.
    theory_module : str
        An outside paper's module of derivations (absolute name; its ``KEY``, ``TITLE``, ``ARXIV``,
        ``DERIVATIONS``, ``module(key)`` and ``derive(key)`` as a ``theory/<paper>`` package has them); empty for
        the built-in papers, whose derivations are ``theory.<package>``.
    """

    key: str
    label: str
    heuristic_label: str
    make_context: Callable | str
    package: str = ""
    title: str = ""
    arxiv: str = ""
    config: Callable | str | None = None
    derivation: Callable | str | None = None
    figures: Callable | str | None = None
    result_figures: Callable | str | None = None
    add_tools: Callable | str | None = None
    claim_modules: tuple | None = None
    read_config: Callable | str | None = None
    theory_module: str = ""
    check_run_options: Callable | str | None = None
    setup_jobs: Callable | str | None = None
    versions: Callable | str | None = None

    def __post_init__(self):
        for name in _HOOKS:
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, _Hook(value, self.package))
        if not (self.title and self.arxiv and self.derivation) and not self.theory_module \
                and self.key in theory.PAPERS:
            derivations = theory.paper(self.key)
            object.__setattr__(self, "title", self.title or derivations.TITLE)
            object.__setattr__(self, "arxiv", self.arxiv or derivations.ARXIV)
            object.__setattr__(self, "derivation", self.derivation or derivations.derive)
        if self.config is None:
            object.__setattr__(self, "config", _ContextConfig(self.make_context))
        if self.claim_modules is None:
            object.__setattr__(self, "claim_modules", _derived_claim_modules(self))


#: the hooks of a :class:`Paper` that may be declared as ``".module:name"`` strings
_HOOKS = ("make_context", "config", "derivation", "figures", "result_figures", "add_tools", "read_config",
          "check_run_options", "setup_jobs", "versions")


@dataclass(frozen=True)
class _Hook:
    """A paper's hook declared as ``".module:attr.path"`` (relative to ``package``), imported on first call."""

    spec: str
    package: str

    def resolve(self) -> Callable:
        module, _, path = self.spec.partition(":")
        target = import_module(module, self.package or None)
        for part in path.split("."):
            target = getattr(target, part)
        return target

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)


@dataclass(frozen=True)
class _ContextConfig:
    """The default ``config`` hook: the context's ``config()``, as a dict."""

    make_context: Callable

    def __call__(self, profile: str, seed: int, user: dict | None = None) -> dict:
        ctx = self.make_context(profile, seed=seed, **({} if user is None else {"user": user}))
        config = ctx.config()
        return config.as_dict() if hasattr(config, "as_dict") else config


def _derived_claim_modules(paper: "Paper") -> tuple:
    """``claims.<m>`` for each derivation module ``m`` of the paper that has a module in ``<package>.claims``."""
    if paper.theory_module or paper.key not in theory.PAPERS or not paper.package:
        return ()
    from importlib.util import find_spec

    names = dict.fromkeys(theory.paper(paper.key).DERIVATIONS.values())
    if find_spec(f"{paper.package}.claims") is None:
        return ()
    return tuple(f"claims.{m}" for m in names if find_spec(f"{paper.package}.claims.{m}") is not None)


REGISTRY: dict[str, Claim] = {}
PAPER_REGISTRY: dict[str, Paper] = {}


def register(claim: Claim) -> Claim:
    if claim.id in REGISTRY:
        raise ValueError(f"claim {claim.id} registered twice (claim ids are unique across papers)")
    REGISTRY[claim.id] = claim
    return claim


def claims_for(paper_key: str) -> Callable:
    """The ``claim(...)`` function of the paper ``paper_key``: it registers a :class:`Claim` of that paper, with the
    calibrated control given as one pair ``calibrated=(control, description)``::

        claim = claims_for(KEY)
        claim("D9-t-half", "t_half = ...", "D9", check, negative, "what the negative control perturbs",
              group="seeds", calibrated=(lambda ctx: check(ctx, 1.02), "t_half raised by 2 %"))

    ``expect``: a documented finding (:class:`Expectation`); ``cost``: the run group's rough weight (seconds of
    one core at the quick profile, :attr:`Claim.cost`)."""
    def claim(id: str, title: str, derivation: str, check, negative_control, control_description: str, *,
              group: str = "", heuristic: bool = False, expect=(), calibrated=None, cost: float = 0.0) -> Claim:
        control, description = calibrated if calibrated is not None else (None, "")
        return register(Claim(id, title, paper_key, derivation, check, negative_control, control_description,
                              group=group, heuristic=heuristic, expect=expect, calibrated_control=control,
                              calibrated_description=description, cost=cost))

    return claim


def lazy_names(package: str, names: dict[str, str]) -> Callable:
    """A module ``__getattr__`` that imports each of ``names`` (name -> module relative to ``package``) on first
    use: a paper package's Python entry points without importing its numerics when the paper is declared."""
    def __getattr__(name: str):
        if name in names:
            return getattr(import_module(names[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def register_paper(paper: Paper) -> Paper:
    if paper.key in PAPER_REGISTRY and PAPER_REGISTRY[paper.key] is not paper:
        raise ValueError(f"paper {paper.key} registered twice")
    PAPER_REGISTRY[paper.key] = paper
    return paper


#: the entry-point group through which an installed package adds a paper: the entry point's name is the paper's
#: key, its value the module that registers the paper (``register_paper``), e.g. in the package's pyproject.toml
#: ``[project.entry-points."dynamics_verifier.papers"] toy-flow = "toy_flow.paper"``
ENTRY_POINT_GROUP = "dynamics_verifier.papers"

#: outside papers that could not be loaded: entry-point name -> the one-line reason (said once per process)
OUTSIDE_ERRORS: dict[str, str] = {}


def _claim_modules(paper: Paper, module) -> None:
    package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
    for name in paper.claim_modules:
        import_module(f".{name}", package) if package else import_module(name)


def _outside_entry_points() -> list:
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _load_outside(ep, claims: bool) -> None:
    """Import one outside paper's entry point (and, with ``claims``, its claim modules); raise with a reason."""
    if ep.name in theory.PAPERS:
        raise ValueError(f"its key {ep.name!r} is a built-in paper's")
    module = ep.load()
    paper = PAPER_REGISTRY.get(ep.name)
    if paper is None:
        raise ValueError(f"{ep.value} registered no paper of key {ep.name!r} (register_paper(Paper(key={ep.name!r}, "
                         "...)) when it is imported)")
    if not paper.theory_module:
        raise ValueError(f"the paper {ep.name!r} names no theory_module (the module of its derivations)")
    theory.add_paper(ep.name, paper.theory_module)
    if claims:
        _claim_modules(paper, module)


def load_papers(claims: bool = True) -> dict[str, Paper]:
    """Import every paper package named in :data:`theory.PAPERS` (in that order), then every outside paper of
    the entry-point group :data:`ENTRY_POINT_GROUP` (by key), and, with ``claims``, the modules that register
    their claims; return the papers by key.  An outside paper that cannot be loaded is left out, said once on
    standard error with its reason (:data:`OUTSIDE_ERRORS`); the built-in papers still load."""
    for package in theory.PAPERS.values():
        module = import_module(f"{__package__}.{package}")
        if claims:
            _claim_modules(PAPER_REGISTRY[module.KEY], module)
    outside = []
    for ep in _outside_entry_points():
        if ep.name in OUTSIDE_ERRORS:
            continue
        try:
            _load_outside(ep, claims)
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is said and left out, the built-ins still run
            OUTSIDE_ERRORS[ep.name] = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            PAPER_REGISTRY.pop(ep.name, None)
            for cid in [cid for cid, c in REGISTRY.items() if c.paper == ep.name]:
                del REGISTRY[cid]
            import sys

            print(f"note: the paper {ep.name!r} of an installed package ({ep.value}) is left out: "
                  f"{OUTSIDE_ERRORS[ep.name]}", file=sys.stderr)
            continue
        outside.append(ep.name)
    return {key: PAPER_REGISTRY[key] for key in [*theory.PAPERS, *outside] if key in PAPER_REGISTRY}


def claims_of(paper: str | None = None) -> list[str]:
    """Claim ids in listing order: papers in the order of :data:`theory.PAPERS`, then their derivations' order
    (``DERIVATIONS``), then registration order."""
    order = list(load_papers())
    ids = [cid for cid, c in REGISTRY.items() if (paper is None or c.paper == paper) and c.paper in order]

    def place(cid: str) -> tuple[int, int]:
        # papers in their order, then derivations in theirs (D1, D2, ...; a claim module imported early by
        # someone else does not move its claims), then registration order (a stable sort)
        claim = REGISTRY[cid]
        keys = list(theory.paper(claim.paper).DERIVATIONS)
        return order.index(claim.paper), keys.index(claim.derivation) if claim.derivation in keys else len(keys)

    return sorted(ids, key=place)
