"""`ContentStore`: what a store holds and how it is written — sessions, blobs, locks (layers and records are
mixins). Opening a store and its upkeep (recovery, `verify`, `gc`) are `builder.store.store.Store`'s; those
upkeep modules work on a `ContentStore`, so none of them imports the class that calls it."""

from __future__ import annotations

import os
import re
import threading
import weakref
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Self

from builder.layer.form import LayerForm
from builder.store import digest as dg
from builder.store.blobs import BlobWriter, open_verified
from builder.store.derived import TAR_MEDIA_TYPE
from builder.store.errors import BlobNotFound, StoreError
from builder.store.journal import Entry, append, retire
from builder.store.layers import LayersMixin
from builder.store.locks import Session, file_lock
from builder.store.records import RecordsMixin

LAYOUT_VERSION = 1
_MAX_READ_BLOB = 64 << 20
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")


class ContentStore(LayersMixin, RecordsMixin):
    """A content-addressed store shared safely by any number of pybuild processes (see the package docs).

    Open with `Store.open`. A Store may be used from several threads; after a fork the child gets its own
    scratch session on first use. ``close()`` (or leaving ``with``) removes this process's scratch files;
    it also happens at interpreter exit, and if the process dies instead, the next `Store.open` does it.
    """

    def __init__(self, root: Path, form: LayerForm) -> None:
        self.root = root
        #: how this store's unpacked layers are written (`builder.layer.form`): its opener says
        self.form = form
        self._blobs = root / "blobs" / dg.ALGORITHM
        self._layers = root / "layers" / dg.ALGORITHM
        self._layerinfo = root / "layerinfo" / dg.ALGORITHM
        self._cache = root / "cache"
        self._locks = root / "locks"
        self._tmp = root / "tmp"
        self._tags_file = root / "tags.json"
        self._journal = root / "journal"
        self._session: Session | None = None
        self._session_guard = threading.Lock()
        #: Names of the leftovers the opening sweep removed (for `pybuild store` to report).
        self.recovered: list[str] = []

    # -- sessions ------------------------------------------------------------------------------------------

    def _scratch(self) -> Path:
        """This process's session directory, created on first use."""
        with self._session_guard:
            if self._session is None or not self._session.alive:
                self._session = Session.create(self._tmp, self._locks)
                weakref.finalize(self, self._session.close)
            return self._session.path

    def close(self) -> None:
        """Remove this process's scratch files (staging dirs not committed are lost). Idempotent."""
        with self._session_guard:
            if self._session is not None:
                self._session.close()
                self._session = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- blobs ---------------------------------------------------------------------------------------------

    def _blob_file(self, digest: str) -> Path:
        return self._blobs / dg.hex_of(digest)

    def has_blob(self, digest: str) -> bool:
        """True if the blob can be read: stored (its content is verified only when read), or the tar of an
        unpacked layer the store makes on demand (`record_layer_tar`; the digest is then the diff_id)."""
        return self._blob_file(digest).is_file() or self.layer_tar_form(digest) is not None

    def has_stored_blob(self, digest: str) -> bool:
        """True if the blob is kept as a file (not only made on demand from an unpacked layer)."""
        return self._blob_file(digest).is_file()

    def made_on_demand(self, digest: str) -> bool:
        """True if the blob is a layer's tar the store makes from the unpacked layer, with no file of it:
        what must be compressed (or stored) before the image it belongs to leaves the store."""
        return not self._blob_file(digest).is_file() and self.layer_tar_form(digest) is not None

    def blob_path(self, digest: str) -> Path:
        """The file holding the blob, for tools that need a path. Not verified: prefer `open_blob`. Never
        write to it. A layer tar made on demand is first stored as a file (once; then kept and recorded as
        a form of its layer). Raises `BlobNotFound`."""
        path = self._blob_file(digest)
        if path.is_file():
            return path
        if self.layer_tar_form(digest) is None:
            raise BlobNotFound(digest)
        with self.open_layer_tar(digest) as tar, self.blob_writer(expected=digest) as writer:
            while chunk := tar.read(1 << 20):
                writer.write(chunk)
            _, size = writer.commit()
        self.record_layer_blob(digest, digest, size, TAR_MEDIA_TYPE)
        return path

    def blob_size(self, digest: str) -> int:
        """Size in bytes of a blob `has_blob` finds; raises `BlobNotFound`."""
        try:
            return self._blob_file(digest).stat().st_size
        except FileNotFoundError:
            form = self.layer_tar_form(digest)
            if form is None:
                raise BlobNotFound(digest) from None
            return form.size

    def open_blob(self, digest: str) -> BinaryIO:
        """A read stream over a blob `has_blob` finds; the caller closes it. The read that reaches EOF raises
        `BlobCorrupted` if a stored blob does not match the digest (the damaged blob is removed), or
        `DerivedTarMismatch` if a layer made on demand does not."""
        try:
            return open_verified(self._blob_file(digest), digest)
        except FileNotFoundError:
            if self.layer_tar_form(digest) is None:
                raise BlobNotFound(digest) from None
            return self.open_layer_tar(digest)

    def read_blob(self, digest: str) -> bytes:
        """The whole content of a small blob (a manifest or config), verified. Refuses blobs over 64 MiB."""
        if self.blob_size(digest) > _MAX_READ_BLOB:
            raise StoreError(f"blob {digest} is too large to read into memory; stream it with open_blob")
        with self.open_blob(digest) as f:
            return f.read()

    def verify_blob(self, digest: str) -> None:
        """Read the blob through and check it; raises `BlobNotFound` or `BlobCorrupted` (and removes it)."""
        with self.open_blob(digest) as f:
            while f.read(1 << 20):
                pass

    def put_blob(self, data: bytes, expected: str | None = None) -> str:
        """Store ``data``; returns its digest. Idempotent. With ``expected``, a mismatch raises
        `DigestMismatch` and stores nothing."""
        digest = dg.of_bytes(data)
        if (expected is None or expected == digest) and self._holds(digest, data):
            # already there, intact: rewriting it would cost a journal entry and its fsync, which every fully
            # cached build would pay for its config and manifest
            return digest
        with self.blob_writer(expected) as w:
            w.write(data)
            return w.commit()[0]

    def _holds(self, digest: str, data: bytes) -> bool:
        """Whether the stored blob ``digest`` is exactly ``data`` (a damaged copy is not)."""
        try:
            with open(self._blob_file(digest), "rb") as stored:
                return stored.read(len(data) + 1) == data
        except OSError:
            return False

    def blob_writer(self, expected: str | None = None, expected_size: int | None = None) -> BlobWriter:
        """A streaming writer (see `BlobWriter`): ``with store.blob_writer() as w: w.write(b); w.commit()``."""
        return BlobWriter(self._scratch(), self._blobs, expected, expected_size, self._note_unsynced)

    def _note_unsynced(self, entry: Entry) -> None:
        """Journal content about to appear unflushed under its name (see `builder.store.journal`)."""
        append(self._journal, self._locks, entry)

    def sync(self) -> bool:
        """A durability point: flush the store's file system once and forget this boot's journal, so an
        unclean restart has nothing to check. Waits for every process's dirty data on that file system:
        never on the build path (`gc` calls it). Returns False if nothing was journaled."""
        return retire(self._journal, self._locks)

    def blobs(self) -> list[str]:
        """Digests of all stored blobs (unverified)."""
        return sorted(f"{dg.ALGORITHM}:{e.name}" for e in os.scandir(self._blobs) if dg.is_hex(e.name))

    def remove_blob(self, digest: str) -> bool:
        """Delete a blob; returns False if it was absent. The caller makes sure nothing references it."""
        try:
            os.unlink(self._blob_file(digest))
        except FileNotFoundError:
            return False
        return True

    def state_dir(self, name: str) -> Path:
        """``<root>/state/<name>``, created if needed: a directory on the store's file system that another
        component (the runtime's run directories and runc state, say) owns entirely. The store never sweeps
        it; its owner recovers its own leftovers."""
        if not _NAME.fullmatch(name):
            raise StoreError(f"invalid state directory name {name!r}")
        path = self.root / "state" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- locks ---------------------------------------------------------------------------------------------

    def lock(self, name: str, shared: bool = False, *, blocking: bool = True) -> AbstractContextManager[None]:
        """An flock on ``<root>/locks/<name>`` held for a ``with`` block; not reentrant (see `file_lock`).
        With ``blocking=False``, raises `LockBusy` instead of waiting."""
        return file_lock(self._locks, name, shared=shared, blocking=blocking)
