"""Public names of a package imported from its modules on first use (PEP 562): a package whose ``__init__`` only
re-exports can be imported for one light module without importing the heavy ones."""
from __future__ import annotations

import sys
from importlib import import_module
from typing import Callable


def lazy_exports(package: str, homes: dict[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: each name of ``homes`` (name -> module of the package) is
    imported from its module when first asked for, then kept in the package's namespace."""
    def __getattr__(name: str):
        if name in homes:
            value = getattr(import_module(f"{package}.{homes[name]}"), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(homes))

    return __getattr__, __dir__
