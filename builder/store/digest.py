"""Digest strings: ``sha256:<64 lowercase hex>``, the only algorithm the store accepts."""

from __future__ import annotations

import hashlib
import re

from builder.store.errors import InvalidDigest

ALGORITHM = "sha256"
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
_HEX = re.compile(r"[0-9a-f]{64}")


def hex_of(digest: str, what: str = "digest") -> str:
    """The hex part of ``digest``; raises `InvalidDigest` unless it is a well-formed sha256 digest.

    Validating before using the hex as a file name is what keeps a hostile digest (``sha256:../../x``) from
    naming a path outside the store.
    """
    if not isinstance(digest, str):
        raise InvalidDigest(f"{what} must be a string like sha256:<hex>, got {type(digest).__name__}")
    match = _DIGEST.fullmatch(digest)
    if match is None:
        raise InvalidDigest(f"invalid {what} {digest!r}: expected sha256: and 64 lowercase hex digits")
    return match.group(1)


def is_hex(name: str) -> bool:
    """True if ``name`` is 64 lowercase hex digits (a file name the store itself would have written)."""
    return _HEX.fullmatch(name) is not None


def of_bytes(data: bytes) -> str:
    """The digest of ``data``."""
    return f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def new_hasher():
    """A fresh hash object for the store's algorithm."""
    return hashlib.sha256()
