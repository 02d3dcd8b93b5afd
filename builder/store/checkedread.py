"""A read stream checked against a digest at its end, the shape of every verified read out of the store."""

from __future__ import annotations

import io

from builder.store import digest as dg


class CheckedAtEnd(io.RawIOBase):
    """Passes ``source``'s bytes through, hashing them; the read that reaches the end calls `check` with
    the digest of everything read, until one check passes. What `check` raises is raised from that read.

    A stream closed before its end has checked nothing. Not seekable: a seek would defeat the running hash.
    Subclasses implement `check` (and close what they opened besides ``source``).
    """

    def __init__(self, source: io.RawIOBase) -> None:
        super().__init__()
        self._source = source
        self._hasher = dg.new_hasher()
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._source.readinto(b)
        if n:
            self._hasher.update(memoryview(b)[:n])
        elif not self._checked:
            self.check(f"{dg.ALGORITHM}:{self._hasher.hexdigest()}")
            self._checked = True
        return n

    def check(self, actual: str) -> None:
        """Raise if ``actual``, the digest of the whole stream, is not what it should be."""
        raise NotImplementedError

    def close(self) -> None:
        self._source.close()
        super().close()
