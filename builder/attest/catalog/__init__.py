"""Package catalogers: each reads one ecosystem's records from an image (`builder.attest.files.ImageFiles`)
and returns `Package` values; `builder.attest.catalog.scan.catalog` runs them all over one image.

A cataloger trusts nothing it reads: a malformed record is skipped, never an error, and every database is
read with a size limit (the image is someone else's input).
"""

from __future__ import annotations

from dataclasses import dataclass


def package_url(
    kind: str,
    name: str,
    version: str | None = None,
    namespace: str | None = None,
    qualifiers: dict | None = None,
) -> str | None:
    """The purl of a package (packageurl-python: each type's rules of the purl spec), or None when the
    record's values make none (an empty name, say): such a record is skipped."""
    from packageurl import PackageURL

    try:
        return PackageURL(
            type=kind, namespace=namespace or None, name=name, version=version or None, qualifiers=qualifiers
        ).to_string()
    except ValueError:
        return None


def text(value: str) -> str:
    """``value`` as valid Unicode: undecodable bytes (surrogate escapes) and lone surrogates (JSON's
    ``\\ud800``) become U+FFFD, so names read from an image can be encoded in a purl and in JSON."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


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
