"""A layer blob's identity: the diff_id (sha256 of the uncompressed tar) its bytes decompress to.

Unpacking computes the diff_id on its way (`apply_layer`); this is the check for a blob whose layer is
already unpacked, where nothing needs writing: the blob is decompressed and hashed as a stream, never held
in memory, and nothing is written anywhere.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from builder.layer.compress import open_decompressed
from builder.layer.errors import LayerError

_CHUNK = 1 << 20


def diff_id_of(stream: BinaryIO) -> str:
    """``sha256:<hex>`` of the decompressed content of ``stream`` (gzip, zstd or plain), read to its end and
    not closed. Corrupt compressed data raises `LayerError`."""
    hasher = hashlib.sha256()
    with open_decompressed(stream) as plain:
        while chunk := plain.read(_CHUNK):
            hasher.update(chunk)
    while stream.read(_CHUNK):  # the whole blob is read, so a verifying store stream checks its digest
        pass
    return "sha256:" + hasher.hexdigest()


def check_diff_id(stream: BinaryIO, diff_id: str, name: str) -> None:
    """Raise `LayerError` unless ``stream`` decompresses to ``diff_id``; ``name`` (its digest) is how the
    error calls the blob."""
    try:
        actual = diff_id_of(stream)
    except LayerError as exc:
        raise LayerError(f"layer {name}: {exc.message}") from None
    if actual != diff_id:
        raise LayerError(f"layer {name} decompresses to {actual}, but the image config says {diff_id}")
