"""The device words every paper's runs take (``--device``): one list, checked before any work."""
from __future__ import annotations

from theory.errors import InputError

__all__ = ["DEVICES", "check_device"]

#: ``cuda`` falls back to the CPU with a one-line notice where no GPU is present (each engine says it)
DEVICES = ("cpu", "cuda")


def check_device(value, field: str = "device") -> str:
    """``value`` when it is a device word, else one :class:`InputError` line naming ``field``."""
    if value not in DEVICES:
        raise InputError(field, value, "unknown device", f"use one of {', '.join(DEVICES)}")
    return value
