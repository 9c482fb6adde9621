"""The committed claim index (``verify/claim_index.json``, what ``list`` prints) equals what the registry says.

``list`` reads the index instead of importing every claim module (issue 23: 4-6 s for a listing); a claim
added, renamed or retitled without writing the index again fails here, with the command that writes it.
Control: an index with one title changed differs from the registry's.
"""
from __future__ import annotations

import copy

from verify.claim_index import REBUILD, build, read


def test_the_committed_index_is_current():
    committed = read()
    assert committed is not None, f"verify/claim_index.json is missing: run {REBUILD}"
    assert committed == build(), f"verify/claim_index.json is not current: run {REBUILD}"


def test_the_index_names_every_registered_claim_once_control():
    from verify.registry import REGISTRY

    index = build()
    ids = [c["id"] for p in index["papers"] for c in p["claims"]]
    assert sorted(ids) == sorted(REGISTRY) and len(ids) == len(set(ids))
    edited = copy.deepcopy(index)
    edited["papers"][0]["claims"][0]["title"] += " (edited)"
    assert edited != build()
