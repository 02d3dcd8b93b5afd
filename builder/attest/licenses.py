"""Declared licenses as SPDX license expressions.

A record's license text becomes its normalised SPDX expression when it is one (``MIT``, ``GPL-2.0+`` →
``GPL-2.0-or-later``, ``Apache-2.0 OR MIT``), checked against the SPDX license list with license-expression
(the library spdx-tools validates with). Any other text (``MIT License``, ``BSD``, a sentence) becomes a
``LicenseRef-…`` whose extracted text is the original, as SPDX 2.3 requires for licenses outside its list.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class ExtractedLicense:
    """A license outside the SPDX list: its ``LicenseRef-`` id and the text it was declared with."""

    license_id: str
    text: str


@functools.lru_cache(maxsize=1)
def _licensing():  # type: ignore[no-untyped-def]
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


@functools.lru_cache(maxsize=4096)
def spdx_expression(text: str) -> tuple[str, ExtractedLicense | None]:
    """(expression for ``licenseDeclared``, the extracted license it refers to or None)."""
    text = text.strip()
    try:
        info = _licensing().validate(text, strict=True)
        if not info.errors and info.normalized_expression:
            return str(info.normalized_expression), None
    except Exception:  # noqa: BLE001 - the parser raises several types on malformed text; all mean "not SPDX"
        pass
    slug = _UNSAFE.sub("-", text)[:40].strip("-") or "license"
    license_id = f"LicenseRef-{slug}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return license_id, ExtractedLicense(license_id, text)
