"""The ``derive`` tool every paper offers: derivation names resolved, results printed (plain, LaTeX or JSON).

Shared code: it receives the paper's theory package (with ``DERIVATIONS``) and never imports a paper.
"""
from __future__ import annotations

import difflib
import json
import sys

from theory.errors import InputError

__all__ = ["resolve", "show", "add_parser"]


def resolve(package, names: list[str]) -> list[str]:
    """Derivation keys of ``package`` for ``names`` (keys or module names, any case; all when empty)."""
    if not names:
        return list(package.DERIVATIONS)
    by_name = {v: k for k, v in package.DERIVATIONS.items()}
    keys = []
    for raw in names:
        key = raw.upper() if raw.upper() in package.DERIVATIONS else by_name.get(raw.lower())
        if key is None:
            choices = list(package.DERIVATIONS) + list(by_name)
            close = difflib.get_close_matches(raw, choices, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise InputError("NAME", raw, "no such derivation", f"{hint}choose from {', '.join(choices)}")
        keys.append(key)
    return keys


def _pretty_item(label: str, value) -> str:
    """One result as SymPy's pretty printer draws it (``a = b`` for an equation, evaluated derivatives with a
    bar), on the label's line when it takes one line, else indented below it."""
    import sympy as sp

    try:
        unicode = "utf" in (getattr(sys.stdout, "encoding", None) or "").lower()
        text = sp.pretty(value, use_unicode=unicode, wrap_line=False)
    except Exception:  # noqa: BLE001 - a value the pretty printer cannot draw is shown in SymPy's plain form
        text = sp.sstr(value)
    if "\n" not in text:
        return f"  * {label}: {text}"
    return f"  * {label}:\n" + "\n".join("      " + line for line in text.splitlines())


def show(results: list, args) -> int:
    """Print derivation records as ``--json``, ``--latex`` or plain text; 0 when every identity verified."""
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    elif args.latex:
        print("\n\n".join(r.latex() for r in results))
    else:
        for r in results:
            print(f"{r.key}. {r.title}  [{r.name}]")
            print("  " + r.text.get("statement", "").replace("\n", "\n  "))
            for label, value in r.results.items():
                print(_pretty_item(label, value))
            for label, ok in r.identities.items():
                print(f"  {'ok ' if ok else 'FAIL'} {label}")
            print()
    return 0 if all(all(r.identities.values()) for r in results) else 1


def add_parser(sub, package, about: str):
    """The paper's ``derive`` subcommand on the subparsers ``sub``: derivation names (any of ``package``'s, by key
    or module name), ``--latex`` or ``--json``; it derives and prints them.  Returns the parser, for a paper's
    own options (it then sets its own ``func``)."""
    import theory

    p = sub.add_parser("derive", help=f"print the derived results {about}")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"one of {theory.derivation_names(package.KEY)}, by key or name (default: all)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true",
                     help="Markdown: each result's label, then its LaTeX in a ```math block")
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error (one per derivation)")
    p.set_defaults(func=lambda args: show(derive_each(package, args), args))
    return p


def derive_each(package, args, derive=None) -> list:
    """Derive the results ``args.names`` asks for (``derive(key)``, default ``package.derive``), with a line on
    standard error as each begins (SymPy takes seconds, all of a paper's derivations up to a quarter of a minute)
    unless ``--quiet``."""
    from .progress import Signs

    derive = package.derive if derive is None else derive
    keys = resolve(package, args.names)
    out = []
    with Signs("derive", quiet=getattr(args, "quiet", False)) as signs:
        for key in keys:
            signs.phase(f"deriving {key} ({package.DERIVATIONS[key]})")
            out.append(derive(key))
    return out
