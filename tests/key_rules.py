"""The rule a claim's key number follows, stated once for the tests (independently of
:func:`verify.registry.check_key`, which enforces it when a verdict is made).

The margin is the used fraction of the tolerance: a finite number >= 0, never exactly 1.  A passed claim shows a
margin below 1 and no why; a failed or inconclusive one a margin above 1, or none (the judged quantity has no
finite value, or the verdict rests on something the margin does not measure), and why; a claim that does not
apply, or whose check raised (error), shows no margin, and why; an error usually has no key at all.
"""
from __future__ import annotations

import math

from verify.registry import Status, check_range, check_rows


def assert_key_consistent(key: dict, status, where: str = "") -> None:
    """``key`` (a key dict, as a verdict or a report's JSON holds it) agrees with ``status``."""
    status = Status(status)
    assert isinstance(key, dict), (where, key)
    assert isinstance(key["quantity"], str) and key["quantity"].strip(), (where, key)
    margin = key["margin"]
    if margin is not None:
        assert isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0, (where, key)
        assert margin != 1, (where, status, key)
    if status is Status.PASSED:
        assert margin is not None and margin < 1, (where, status, key)
        assert key["why"] is None, (where, key)
        return
    if status in (Status.NOT_APPLICABLE, Status.ERROR):
        assert margin is None, (where, key)
    else:
        assert margin is None or margin > 1, (where, status, key)
    assert isinstance(key["why"], str) and key["why"].strip(), (where, key)
    counts = key.get("counts")
    if counts is not None:
        assert 0 <= counts["met"] <= counts["total"], (where, key)


def assert_report_keys(report: dict) -> None:
    """Every claim of ``report`` and every negative control that ran has a key consistent with its status; a
    control that ran failed with a margin above 1 or none."""
    for claim in report["claims"]:
        cid = claim["claim"]
        if claim["status"] not in (Status.NOT_APPLICABLE, Status.ERROR) or claim.get("key") is not None:
            assert claim.get("key") is not None, f"{cid} has no key number"
            assert_key_consistent(claim["key"], claim["status"], cid)
        if claim["status"] not in (Status.NOT_APPLICABLE, Status.ERROR):
            # issue 19: every verdict states the range it was tested on, and lists its failing rows (if any)
            assert claim.get("range"), f"{cid} states no range"
            check_range(cid, claim["range"])
            check_rows(cid, claim.get("rows"))
            if claim["status"] == Status.FAILED and claim.get("rows"):
                assert claim["rows"][0]["outcome"] == "failed", (cid, claim["rows"][0])
        control = claim.get("negative_control") or {}
        if control.get("key") is not None:
            assert_key_consistent(control["key"], control["status"], f"{cid} (negative control)")
            if control["status"] == Status.FAILED:
                assert control["key"]["margin"] is None or control["key"]["margin"] > 1, (cid, control["key"])
