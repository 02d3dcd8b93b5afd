"""Streaming blob I/O: a writer that hashes into a temp file and renames into place, a reader that verifies.

Both are byte streams (`io.RawIOBase`), so compressors and tarfile can write to / read from them directly.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from builder.faults import checkpoint
from builder.store import digest as dg
from builder.store.checkedread import CheckedAtEnd
from builder.store.errors import BlobCorrupted, DigestMismatch, StoreError
from builder.store.journal import Entry

_CHUNK = 1 << 20


class BlobWriter(io.RawIOBase):
    """Write a blob of unknown size into the store; use as a context manager.

    ``write()`` appends and hashes; ``commit()`` checks the temp file against ``expected`` (and
    ``expected_size``), journals the digest (``note``, see `builder.store.journal`: the content is not
    flushed), renames the file to its digest's path and returns ``(digest, size)``.
    A mismatch raises `DigestMismatch` and stores nothing. Leaving the ``with`` block without a successful
    commit discards the temp file. ``close()`` only ends writing (a compressor may close its output stream);
    the content is kept until commit or exit. Committing content already in the store is harmless: the
    identical file replaces it atomically (which also repairs a damaged copy).
    """

    def __init__(
        self,
        tmp_dir: Path,
        blobs_dir: Path,
        expected: str | None,
        expected_size: int | None,
        note: Callable[[Entry], None],
    ) -> None:
        super().__init__()
        self._note = note
        if expected is not None:
            dg.hex_of(expected, "expected digest")
        self._expected = expected
        self._expected_size = expected_size
        self._blobs_dir = blobs_dir
        self._hasher = dg.new_hasher()
        self._size = 0
        fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=".blob-")
        self._tmp: str | None = tmp
        # Buffered: compressors hand over many small chunks, one syscall each would be slow.
        self._file = io.BufferedWriter(io.FileIO(fd, "wb"), buffer_size=_CHUNK)
        self._accepting = True
        self._result: tuple[str, int] | None = None

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if not self._accepting:
            raise ValueError("write to a closed blob writer")
        view = memoryview(b).cast("B")
        self._file.write(view)
        self._hasher.update(view)
        self._size += len(view)
        return len(view)

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        if self._accepting:
            self._file.flush()

    def close(self) -> None:
        """End writing; the content stays (unsynced) in the temp file until `commit` or `discard`."""
        if self._accepting:
            self._file.flush()
            self._accepting = False
        super().close()

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def commit(self) -> tuple[str, int]:
        """Store the content; returns ``(digest, size)``. Idempotent once it has succeeded."""
        if self._result is not None:
            return self._result
        if self._tmp is None:
            raise StoreError("blob writer was discarded; nothing to commit")
        self._accepting = False
        actual = f"{dg.ALGORITHM}:{self._hasher.hexdigest()}"
        try:
            if self._expected is not None and not hmac.compare_digest(actual, self._expected):
                raise DigestMismatch(self._expected, actual)
            if self._expected_size is not None and self._size != self._expected_size:
                raise StoreError(f"blob {actual} has {self._size} bytes, expected {self._expected_size}")
            self._file.flush()
            checkpoint("blob.written")
            self._file.close()
            os.chmod(self._tmp, 0o444)
            # Journaled, not flushed: a flush of a big layer's blob would stall the build on the disk.
            self._note(Entry("blob", actual))
            os.replace(self._tmp, self._blobs_dir / dg.hex_of(actual))
            self._tmp = None
            checkpoint("blob.renamed")
        except BaseException:
            self.discard()
            raise
        super().close()
        self._result = (actual, self._size)
        return self._result

    def discard(self) -> None:
        """Drop the temp file (nothing is stored). Safe to call more than once."""
        self._accepting = False
        if not self._file.closed:
            with contextlib.suppress(OSError):
                self._file.close()
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None
        super().close()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc) -> None:
        if self._result is None:
            self.discard()


class VerifiedReader(CheckedAtEnd):
    """Reads one stored blob and checks its digest when the end is reached.

    Raises `BlobCorrupted` from the read that hits EOF if the content does not match (the damaged file is
    then removed from the store, so the next lookup misses and the blob is fetched or built again). A reader
    closed before EOF has verified nothing. Not seekable: a seek would defeat the running hash.
    """

    def __init__(self, path: Path, digest: str) -> None:
        super().__init__(io.FileIO(path, "rb"))
        self._path = path
        self._digest = digest

    def check(self, actual: str) -> None:
        if actual != self._digest:
            _quarantine(self._path, os.fstat(self._source.fileno()))
            raise BlobCorrupted(self._digest, actual)


def _quarantine(path: Path, st: os.stat_result) -> None:
    """Unlink a damaged blob, unless it has meanwhile been replaced by a fresh (renamed-in) copy."""
    try:
        current = os.lstat(path)
    except FileNotFoundError:
        return
    if (current.st_dev, current.st_ino) == (st.st_dev, st.st_ino):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def hash_file(path: Path) -> tuple[str, int]:
    """``(digest, size)`` of a file, read in chunks."""
    hasher = dg.new_hasher()
    size = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return f"{dg.ALGORITHM}:{hasher.hexdigest()}", size


def open_verified(path: Path, digest: str) -> io.BufferedReader:
    """A buffered, verifying read stream over the blob at ``path``; the caller closes it."""
    return io.BufferedReader(VerifiedReader(path, digest), buffer_size=_CHUNK)
