"""Errors raised by the store. All are `BuildError`s, so the CLI prints them without a traceback."""

from __future__ import annotations

from builder.errors import BuildError


class StoreError(BuildError):
    """The store cannot do what was asked: bad layout, unreadable records, an I/O failure."""


class InvalidDigest(StoreError):
    """A string that should be ``sha256:<64 lowercase hex>`` is not."""


class BlobNotFound(StoreError):
    """No blob with this digest is in the store."""

    def __init__(self, digest: str) -> None:
        super().__init__(f"blob {digest} is not in the store")
        self.digest = digest


class LayerNotFound(StoreError):
    """No unpacked layer with this diff_id is in the store."""

    def __init__(self, diff_id: str) -> None:
        super().__init__(f"unpacked layer {diff_id} is not in the store")
        self.diff_id = diff_id


class DigestMismatch(StoreError):
    """Content does not hash to the digest it was expected (or stored) under; nothing was stored or returned."""

    def __init__(self, expected: str, actual: str, what: str = "content") -> None:
        super().__init__(f"{what} has digest {actual}, expected {expected}")
        self.expected = expected
        self.actual = actual


class BlobCorrupted(DigestMismatch):
    """A stored blob no longer matches its digest (damaged on disk). It has been removed from the store."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(expected, actual, what=f"stored blob {expected}")
        self.message = (
            f"stored blob {expected} is corrupted (its content hashes to {actual}); it was removed, "
            "fetch or build it again"
        )
        self.args = (self.message,)
