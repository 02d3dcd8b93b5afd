"""Package catalogers: each reads one ecosystem's records from an image (`builder.attest.files.ImageFiles`)
and returns `Package` values; `builder.attest.catalog.scan.catalog` runs them all over one image.

A cataloger trusts nothing it reads: a malformed record is skipped, never an error, and every database is
read with a size limit (the image is someone else's input).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Package:
    """One installed package. ``ecosystem``: deb, apk, python, npm or go. ``version`` None when the record
    has none. ``license``: the license as the record declares it (any text; made an SPDX expression later),
    or None. ``files``: the image paths the package's record says it installed, in the record's order (not
    checked against the image here). ``source``: where the record was found (an image path)."""

    ecosystem: str
    name: str
    version: str | None
    purl: str
    license: str | None
    files: tuple[str, ...]
    source: str
