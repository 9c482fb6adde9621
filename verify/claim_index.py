"""The claim index: what ``python -m verify list`` prints, read without importing a claim or derivation module.

Registering the claims imports every claim module, and with it the derivations (SymPy at import) and PyTorch:
about 4 s on an idle machine, 6 s on a loaded one, for a listing of ids and titles (issue 23).  The index,
``verify/claim_index.json``, holds per paper (in the order of :data:`theory.PAPERS`) its title and arXiv
label, its claims in listing order (id, derivation key, title, whether heuristic) and its derivations (key,
module name, title); ``list`` reads it in milliseconds.  It is built from the registry itself (:func:`build`)
and committed; ``tests/test_claim_index.py`` fails when it no longer equals what the registry says, naming the
command that writes it again::

    python -m verify.claim_index

Where the file is absent (a copy without it), ``list`` builds the index from the registry (slow, but right).
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["INDEX", "build", "read", "write", "current"]

#: the committed index (package data)
INDEX = Path(__file__).with_name("claim_index.json")
#: the command that writes it again
REBUILD = "python -m verify.claim_index"


def build(keys=None) -> dict:
    """The index from the registry (imports every paper and claim module: seconds): of the built-in papers
    (:data:`theory.PAPERS`; the committed file), or of the papers ``keys`` (e.g. outside papers, listed live)."""
    import theory

    from .registry import REGISTRY, claims_of, load_papers

    papers = load_papers()
    wanted = list(theory.PAPERS) if keys is None else list(keys)
    out = {"about": f"what 'python -m verify list' prints; written by '{REBUILD}' from the registry, checked by "
                    "tests/test_claim_index.py", "papers": []}
    for key, paper in ((k, papers[k]) for k in wanted if k in papers):
        derivations = theory.paper(key)
        out["papers"].append({
            "key": key, "title": paper.title, "arxiv": paper.arxiv,
            "claims": [{"id": cid, "derivation": REGISTRY[cid].derivation, "title": REGISTRY[cid].title,
                        "heuristic": bool(REGISTRY[cid].heuristic)} for cid in claims_of(key)],
            "derivations": [{"key": dkey, "name": name, "title": derivations.module(dkey).TITLE}
                            for dkey, name in derivations.DERIVATIONS.items()]})
    return out


def read() -> dict | None:
    """The committed index, or None where the file is absent."""
    try:
        return json.loads(INDEX.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def current() -> dict:
    """The committed index, or one built from the registry where it is absent."""
    index = read()
    return build() if index is None else index


def write() -> Path:
    """Write the index built from the registry to :data:`INDEX`."""
    from .output import atomic_write

    return atomic_write(INDEX, json.dumps(build(), indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    print(write())
