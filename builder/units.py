"""Sizes for people, as Docker prints them; a leaf module every presenter may use."""

from __future__ import annotations

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def human_size(size: float) -> str:
    """``0B``, ``812B``, ``1.24kB``, ``4.26MB`` (base 1000, three significant digits)."""
    unit = 0
    while size >= 1000 and unit < len(_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.3g}{_UNITS[unit]}"
