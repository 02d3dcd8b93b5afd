"""An overlay-form directory (an upperdir, or an unpacked layer) → an OCI layer tar, compressed and hashed
in one streaming pass.

`LayerStream` is the tar being written: entries go in, in the layer's order, and are hashed (diff_id),
compressed and hashed again (blob digest) as they arrive. `write_layer` feeds it a directory tree; a step
that writes its upperdir itself may feed it while writing (`builder.fsops.copystream`), so the files
are not read a second time.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from builder.layer import tarformat as tf
from builder.layer.compress import COMPRESSIONS, HashingWriter, open_compressed_writer
from builder.layer.devices import check_node
from builder.layer.errors import LayerError
from builder.layer.whiteouts import OPAQUE_MARKER, WHITEOUT_PREFIX, is_opaque, is_overlay_xattr, is_whiteout

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LayerInfo:
    """What ``write_layer`` produced: ``diff_id`` hashes the uncompressed tar, ``digest`` and ``size``
    describe the bytes written to ``out`` (equal to the tar itself when ``compression`` is "none").
    ``digest`` is None when the caller asked not to hash the output (its writer hashes it already)."""

    diff_id: str
    digest: str | None
    size: int
    compression: str


def write_layer(
    root: Path,
    out: BinaryIO,
    *,
    compression: str = "gzip",
    clamp_mtime: int | None = None,
    hash_output: bool = True,
) -> LayerInfo:
    """Write the layer tar of the overlay-form directory ``root`` into ``out``, compressed.

    Entries come in BuildKit's order (each directory's names sorted bytewise, a directory before its
    contents, the tree's root itself not included). Whiteout devices and xattr whiteouts become
    ``.wh.<name>``, opaque directories get a ``.wh..wh..opq`` entry right after their own; files with
    several links inside ``root`` are written once, then as hard links; sockets are skipped; overlayfs'
    private xattrs are dropped, all others kept. mtimes are whole seconds, capped at ``clamp_mtime``.
    ``out`` is written sequentially and not closed. Raises LayerError for an unknown compression, a file
    that cannot be read or shrinks while being read; errors writing ``out`` propagate as they are.
    ``hash_output=False`` leaves the returned ``digest`` None (for an ``out`` that hashes what it stores).
    """
    with LayerStream(out, compression=compression, clamp_mtime=clamp_mtime, hash_output=hash_output) as layer:
        layer.add_tree(os.fsencode(root))
        return layer.finish()


class Discard:
    """A write-only sink that keeps nothing: for a layer tar written only to be hashed and counted."""

    def write(self, data) -> int:
        return len(data)

    def flush(self) -> None:
        pass


class _Counted(Discard):
    """`Discard` telling ``advance`` of every write's size (a progress bar's)."""

    def __init__(self, advance: Callable[[int], None]) -> None:
        self._advance = advance

    def write(self, data) -> int:
        n = len(data) if not isinstance(data, memoryview) else data.nbytes
        self._advance(n)
        return n


def hash_layer(
    root: Path, *, clamp_mtime: int | None = None, advance: Callable[[int], None] | None = None
) -> LayerInfo:
    """The `LayerInfo` of ``root``'s layer tar (diff_id, and size in ``size``) without keeping the tar: what
    `write_layer` with ``compression="none"`` would write, hashed and counted. ``advance(n)`` is told of
    every n bytes. Raises as `write_layer` does."""
    sink = Discard() if advance is None else _Counted(advance)
    return write_layer(root, sink, compression="none", clamp_mtime=clamp_mtime, hash_output=False)


class _Batched:
    """Gathers the small writes of a tar stream (headers, small files, padding) into pieces of about
    ``_CHUNK`` bytes before they reach the hashers and the compressor: a tree of many small files would
    otherwise pay their per-call cost three times per file. Large writes pass straight through."""

    def __init__(self, out: HashingWriter) -> None:
        self._out = out
        self._buf = bytearray()

    def write(self, data: bytes) -> None:
        if len(data) >= _CHUNK:
            self.flush()
            self._out.write(data)
            return
        self._buf += data
        if len(self._buf) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            self._out.write(self._buf)
            self._buf = bytearray()


def _listxattrs(path: bytes) -> list[str]:
    try:
        return os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno == errno.ENOTSUP:
            return []
        raise


class LayerStream:
    """A layer tar being written into ``out``: hashed, compressed, the compressed bytes hashed, as entries
    arrive. Use as a context manager: `finish` ends the archive and returns its `LayerInfo`; leaving the
    block with an exception stops the compressor and leaves ``out`` with a partial stream (the caller's to
    discard). ``out`` is never closed.

    Entries must come in the layer's order (see `write_layer`): `add_tree` and `add_entry` read them from
    disk; `entry_header`, `write_header`, `write_data` and `end_data` let a writer that creates the files
    itself emit them without reading them back. Names are bytes relative to the layer's root.
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        compression: str = "gzip",
        clamp_mtime: int | None = None,
        hash_output: bool = True,
    ) -> None:
        if compression not in COMPRESSIONS:
            known = ", ".join(COMPRESSIONS)
            raise LayerError(f"unknown layer compression {compression!r} (expected one of {known})")
        self.compression = compression
        self._blob = HashingWriter(out, hashed=hash_output)
        self._compressor = open_compressed_writer(self._blob, compression)
        self._tar = HashingWriter(self._compressor)
        self._out = _Batched(self._tar)
        self._clamp = clamp_mtime
        self._links: dict[tuple[int, int], bytes] = {}  # (dev, ino) -> name of its first entry
        self._closed = False

    def __enter__(self) -> LayerStream:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._compressor.close()  # stops the compression threads
            except Exception:
                if kind is None:
                    raise

    def finish(self) -> LayerInfo:
        """End the archive (two zero blocks), finish the compressed stream; the layer's `LayerInfo`."""
        self._out.write(tf.END_OF_ARCHIVE)
        self._out.flush()
        self._closed = True
        self._compressor.close()
        blob = self._blob
        return LayerInfo(
            diff_id=self._tar.digest, digest=blob.digest, size=blob.size, compression=self.compression
        )

    # --- entries read from disk ---------------------------------------------------------------------------
    def add_tree(self, root: bytes) -> None:
        """Every entry below the directory ``root`` (not ``root`` itself, but its opaque marker if it has one),
        named relative to it. A file that cannot be read is a LayerError naming it."""
        try:
            st = os.lstat(root)
            if is_opaque(root):
                self.write_header(self._marker(b"", OPAQUE_MARKER, st))
            for name, path, st in self._walk(root, b""):
                self.add_entry(name, path, st)
        except OSError as e:
            if e.filename is None:
                raise  # not about the tree (the output failed): the caller's to handle
            raise LayerError(f"cannot archive {os.fsdecode(e.filename)}: {e.strerror}") from e

    def _walk(self, directory: bytes, prefix: bytes) -> Iterator[tuple[bytes, bytes, os.stat_result]]:
        # One sorted listing per directory level: memory follows the tree's depth, not its size. A stack of
        # listings, not recursion: a layer may nest directories thousands deep.
        stack = [(prefix, self._listing(directory))]
        while stack:
            parent, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            base, path, st = entry
            name = parent + base
            yield name, path, st
            if stat.S_ISDIR(st.st_mode):
                stack.append((name + b"/", self._listing(path)))

    @staticmethod
    def _listing(directory: bytes) -> Iterator[tuple[bytes, bytes, os.stat_result]]:
        with os.scandir(directory) as it:
            entries = sorted(((e.name, e.path, e.stat(follow_symlinks=False)) for e in it), key=lambda x: x[0])
        return iter(entries)

    def add_entry(self, name: bytes, path: bytes, st: os.stat_result) -> None:
        """The entry ``name`` for the file at ``path`` (``st`` its lstat), content read from it; a whiteout
        becomes its ``.wh.`` marker, an opaque directory is followed by its marker, a socket is left out, a
        second name of a file already written becomes a hard link to the first."""
        mode = st.st_mode
        if stat.S_ISSOCK(mode):
            return  # sockets cannot be archived; Docker and BuildKit drop them too
        xattr_names = _listxattrs(path)
        if is_whiteout(path, st, xattr_names):
            dirname, _, base = name.rpartition(b"/")
            self.write_header(self._marker(dirname + b"/" if dirname else b"", WHITEOUT_PREFIX + base, st))
            return
        xattrs = {
            n: os.getxattr(path, n, follow_symlinks=False) for n in xattr_names if not is_overlay_xattr(n)
        }
        linkname = os.readlink(path) if stat.S_ISLNK(mode) else b""
        h = self.entry_header(name, st, xattrs, linkname)
        if h.type == tf.REGTYPE:
            self._file(h, path)
            return
        self.write_header(h)
        if stat.S_ISDIR(mode) and is_opaque(path, xattr_names):
            self.write_header(self._marker(h.name, OPAQUE_MARKER, st))

    def _file(self, h: tf.Header, path: bytes) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            h.size = os.fstat(fd).st_size
            self.write_header(h)
            left = h.size
            while left:
                chunk = os.read(fd, min(_CHUNK, left))
                if not chunk:
                    raise LayerError(f"{os.fsdecode(path)} shrank while being archived")
                self._out.write(chunk)
                left -= len(chunk)
            self.end_data(h.size)
        finally:
            os.close(fd)

    # --- entries from a writer that made the files --------------------------------------------------------
    def entry_header(
        self, name: bytes, st: os.stat_result, xattrs: dict[str, bytes], linkname: bytes = b""
    ) -> tf.Header:
        """The header `add_entry` writes for a file, directory, symlink (``linkname`` its target) or device
        with lstat ``st`` and ``xattrs`` (overlayfs' own are dropped here). A regular file with more than
        one link whose first name was already written gets a hard link header; otherwise it is registered as
        that first name. ``mtime`` is already capped; ``size`` is ``st``'s for regular files."""
        mode = st.st_mode
        h = tf.Header(
            name=name,
            type=tf.REGTYPE,
            mode=stat.S_IMODE(mode),
            uid=st.st_uid,
            gid=st.st_gid,
            mtime=self._mtime(st.st_mtime_ns),
            xattrs={n: v for n, v in sorted(xattrs.items()) if not is_overlay_xattr(n)},
        )
        if stat.S_ISDIR(mode):
            h.type, h.name = tf.DIRTYPE, name + b"/"
        elif stat.S_ISLNK(mode):
            h.type, h.linkname = tf.SYMTYPE, linkname
        elif stat.S_ISREG(mode):
            h.size = st.st_size
            if st.st_nlink > 1:
                first = self._links.setdefault((st.st_dev, st.st_ino), name)
                if first != name:
                    h.type, h.linkname, h.size = tf.LNKTYPE, first, 0
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            check_node(name, mode, st.st_rdev)  # a step may not make a layer pybuild would refuse to apply
            h.type = tf.CHRTYPE if stat.S_ISCHR(mode) else tf.BLKTYPE
            h.devmajor, h.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            h.type = tf.FIFOTYPE
        else:
            raise LayerError(f"cannot archive {os.fsdecode(name)}: unknown file type {stat.S_IFMT(mode):o}")
        return h

    def register_link(self, st: os.stat_result, name: bytes) -> None:
        """Make ``name`` the first name of the file ``st`` describes: later names of it become hard links
        (for a file written while it had one link, linked to afterwards)."""
        self._links.setdefault((st.st_dev, st.st_ino), name)

    def write_header(self, h: tf.Header) -> None:
        """Append the header block(s) of ``h`` (its mtime is taken as it is)."""
        self._out.write(tf.encode(h))

    def write_data(self, data) -> None:
        """Append entry data; `end_data` follows the last piece of an entry."""
        self._out.write(data)

    def end_data(self, size: int) -> None:
        """Pad the data of an entry of ``size`` bytes to the block boundary."""
        self._out.write(tf.padding(size))

    def _mtime(self, mtime_ns: int) -> int:
        mtime = mtime_ns // 1_000_000_000
        return min(mtime, self._clamp) if self._clamp is not None else mtime

    def _marker(self, dirname: bytes, base: bytes, st: os.stat_result) -> tf.Header:
        return tf.Header(name=dirname + base, type=tf.REGTYPE, mtime=self._mtime(st.st_mtime_ns))
