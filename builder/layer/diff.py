"""An overlay-form directory (an upperdir, or an unpacked layer) → an OCI layer tar, compressed and hashed
in one streaming pass."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from builder.layer import tarformat as tf
from builder.layer.compress import COMPRESSIONS, HashingWriter, open_compressed_writer
from builder.layer.errors import LayerError
from builder.layer.whiteouts import OPAQUE_MARKER, WHITEOUT_PREFIX, is_opaque, is_overlay_xattr, is_whiteout

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LayerInfo:
    """What ``write_layer`` produced: ``diff_id`` hashes the uncompressed tar, ``digest`` and ``size``
    describe the bytes written to ``out`` (equal to the tar itself when ``compression`` is "none")."""

    diff_id: str
    digest: str
    size: int
    compression: str


def write_layer(
    root: Path, out: BinaryIO, *, compression: str = "gzip", clamp_mtime: int | None = None
) -> LayerInfo:
    """Write the layer tar of the overlay-form directory ``root`` into ``out``, compressed.

    Entries come in BuildKit's order (each directory's names sorted bytewise, a directory before its
    contents, the tree's root itself not included). Whiteout devices and xattr whiteouts become
    ``.wh.<name>``, opaque directories get a ``.wh..wh..opq`` entry right after their own; files with
    several links inside ``root`` are written once, then as hard links; sockets are skipped; overlayfs'
    private xattrs are dropped, all others kept. mtimes are whole seconds, capped at ``clamp_mtime``.
    ``out`` is written sequentially and not closed. Raises LayerError for an unknown compression, a file
    that cannot be read or shrinks while being read; errors writing ``out`` propagate as they are.
    """
    if compression not in COMPRESSIONS:
        known = ", ".join(COMPRESSIONS)
        raise LayerError(f"unknown layer compression {compression!r} (expected one of {known})")
    blob = HashingWriter(out)
    compressor = open_compressed_writer(blob, compression)
    tar = HashingWriter(compressor)
    batched = _Batched(tar)
    with compressor:
        try:
            _Writer(batched, clamp_mtime).write_tree(os.fsencode(root))
        except OSError as e:
            if e.filename is None:
                raise  # not about the tree (the output failed): the caller's to handle
            raise LayerError(f"cannot archive {os.fsdecode(e.filename)}: {e.strerror}") from e
        batched.write(tf.END_OF_ARCHIVE)
        batched.flush()
    return LayerInfo(diff_id=tar.digest, digest=blob.digest, size=blob.size, compression=compression)


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


class _Writer:
    def __init__(self, out: _Batched, clamp_mtime: int | None) -> None:
        self._out = out
        self._clamp = clamp_mtime
        self._links: dict[tuple[int, int], bytes] = {}  # (dev, ino) -> name of its first entry

    def write_tree(self, root: bytes) -> None:
        st = os.lstat(root)
        if is_opaque(root):
            self._emit(self._marker(b"", OPAQUE_MARKER, st))
        for name, path, st in self._walk(root, b""):
            self._entry(name, path, st)

    def _walk(self, directory: bytes, prefix: bytes) -> Iterator[tuple[bytes, bytes, os.stat_result]]:
        # One sorted listing per directory level: memory follows the tree's depth, not its size.
        with os.scandir(directory) as it:
            entries = sorted(((e.name, e.path, e.stat(follow_symlinks=False)) for e in it), key=lambda x: x[0])
        for base, path, st in entries:
            name = prefix + base
            yield name, path, st
            if stat.S_ISDIR(st.st_mode):
                yield from self._walk(path, name + b"/")

    def _mtime(self, st: os.stat_result) -> int:
        mtime = st.st_mtime_ns // 1_000_000_000
        return min(mtime, self._clamp) if self._clamp is not None else mtime

    def _marker(self, dirname: bytes, base: bytes, st: os.stat_result) -> tf.Header:
        return tf.Header(name=dirname + base, type=tf.REGTYPE, mtime=self._mtime(st))

    def _emit(self, header: tf.Header) -> None:
        self._out.write(tf.encode(header))

    def _entry(self, name: bytes, path: bytes, st: os.stat_result) -> None:
        mode = st.st_mode
        if stat.S_ISSOCK(mode):
            return  # sockets cannot be archived; Docker and BuildKit drop them too
        xattr_names = _listxattrs(path)
        dirname, _, base = name.rpartition(b"/")
        dirname = dirname + b"/" if dirname else b""
        if is_whiteout(path, st, xattr_names):
            self._emit(self._marker(dirname, WHITEOUT_PREFIX + base, st))
            return
        h = tf.Header(
            name=name,
            type=tf.REGTYPE,
            mode=stat.S_IMODE(mode),
            uid=st.st_uid,
            gid=st.st_gid,
            mtime=self._mtime(st),
            xattrs={
                n: os.getxattr(path, n, follow_symlinks=False)
                for n in sorted(xattr_names)
                if not is_overlay_xattr(n)
            },
        )
        if stat.S_ISDIR(mode):
            h.type, h.name = tf.DIRTYPE, name + b"/"
            self._emit(h)
            if is_opaque(path, xattr_names):
                self._emit(self._marker(name + b"/", OPAQUE_MARKER, st))
        elif stat.S_ISLNK(mode):
            h.type, h.linkname = tf.SYMTYPE, os.readlink(path)
            self._emit(h)
        elif stat.S_ISREG(mode):
            if st.st_nlink > 1:
                first = self._links.setdefault((st.st_dev, st.st_ino), name)
                if first != name:
                    h.type, h.linkname = tf.LNKTYPE, first
                    self._emit(h)
                    return
            self._file(h, path)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            h.type = tf.CHRTYPE if stat.S_ISCHR(mode) else tf.BLKTYPE
            h.devmajor, h.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self._emit(h)
        elif stat.S_ISFIFO(mode):
            h.type = tf.FIFOTYPE
            self._emit(h)
        else:
            raise LayerError(f"cannot archive {os.fsdecode(path)}: unknown file type {stat.S_IFMT(mode):o}")

    def _file(self, h: tf.Header, path: bytes) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            h.size = os.fstat(fd).st_size
            self._emit(h)
            left = h.size
            while left:
                chunk = os.read(fd, min(_CHUNK, left))
                if not chunk:
                    raise LayerError(f"{os.fsdecode(path)} shrank while being archived")
                self._out.write(chunk)
                left -= len(chunk)
            self._out.write(tf.padding(h.size))
        finally:
            os.close(fd)
