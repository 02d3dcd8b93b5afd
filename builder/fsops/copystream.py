"""COPY of a directory into a place where no lower layer has anything, with the layer tar written as it goes.

The large COPY of a build (``COPY . /app``, ``COPY src/ /srv/``) usually puts a whole tree where the image
has nothing yet. Done through the overlay mount and archived afterwards, every file is created through
overlayfs, then read back and archived by the commit. Here, once `prepare` has made the destination
directory through the mount and the mount is gone, the tree is written straight into the upperdir — which
is the merged view below the destination, since no lower layer has anything there — and each entry goes
into the step's `LayerStream` as soon as it is in place, from the data already in hand.

The upperdir ends exactly as `copy.copy_source` through the mount leaves it once its directory times are
settled (`builder.fsops.dirtimes`): the caller settles the directories `prepare` made before
`copy_tree` streams them, and `copy_tree` leaves the destination's time as it found it. A copy that would
make nothing in an existing destination (an empty source, or one wholly ignored or ``--exclude``d) is left
to the mount, where it copies nothing up and the layer is empty.

The stream is the tar `write_layer` makes of that upperdir (tests compare the two). Where a value can only be
predicted when an entry's header is due (a directory's final metadata, a large file's), it is checked once
the entry is done; a difference (a file changing size while being copied, a file system that adds
attributes) makes `copy_tree` report the stream unusable, and the step's commit then archives the upperdir
as usual. A file is copied to its end, as through the mount, however it grew since it was listed; memory
holds at most a piece of it (a small file that grew is streamed from its copy).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from builder.fsops import rootpath
from builder.fsops.copy import Placement, SourceTree, make_dirs
from builder.layer import tarformat as tf
from builder.layer.diff import LayerStream
from builder.layer.whiteouts import is_overlay_xattr

#: Files up to this size are read whole before they are written, so their header is made from what landed
#: on disk; larger ones stream through in pieces of this size behind a predicted header.
_WHOLE = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Read as well as written: a file that grew after it was listed is streamed from its copy (see `_grown`).
_NEW_FILE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
#: The kinds of entries a copy makes (FIFOs too, as BuildKit v0.13 copies them); sockets and devices are not.
_COPIED = (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK, stat.S_IFIFO)


class Unusable(Exception):
    """The upperdir is not as `prepare` left it: the copy must go through the mount instead."""


class _Meta(NamedTuple):
    """The fields of a stat result `LayerStream.entry_header` reads, for an entry not yet in its final state."""

    st_mode: int
    st_uid: int
    st_gid: int
    st_size: int
    st_mtime_ns: int
    st_nlink: int = 1
    st_dev: int = 0
    st_ino: int = 0
    st_rdev: int = 0


class Earlier:
    """What an earlier direct copy of the same source to the same place left: its destination directory in
    that step's unpacked layer (immutable in the store) and the descriptions of the source entries it
    copied (`builder.sources.digest_sources`: type, mode, owner, content digest). A file whose description
    is the same now, and whose copy there has the mode, owner, mtime and size this copy would give it, is
    hard-linked instead of written again: when one file of a large context changed, the others cost a
    link, not a new file."""

    def __init__(self, directory: Path, before: dict[str, str], now: dict[str, str]) -> None:
        self.directory = os.fsencode(directory)
        self.before = before
        self.now = now
        self.used: set[tuple[int, int]] = set()  # inodes linked already: never two names for one here

    def reusable(self, rel: str, below: str, st: os.stat_result, mode: int, uid: int, gid: int) -> bytes | None:
        """The earlier copy of source file ``rel`` (``below`` the copied source) if it can stand for the
        new one, else None."""
        description = self.now.get(rel)
        if description is None or self.before.get(rel) != description or st.st_nlink != 1:
            return None
        path = self.directory + b"/" + os.fsencode(below)
        try:
            old = os.lstat(path)
        except OSError:
            return None
        same = (old.st_mode, old.st_uid, old.st_gid, old.st_size, old.st_mtime_ns) == (
            stat.S_IFREG | mode,
            uid,
            gid,
            st.st_size,
            st.st_mtime_ns,
        )
        if not same or (old.st_dev, old.st_ino) in self.used:
            return None
        self.used.add((old.st_dev, old.st_ino))
        return path


def prepare(
    root: Path,
    lowers: Sequence[Path],
    dest: str,
    placement: Placement,
    tree: SourceTree,
    source: str,
    skip: Callable[[str], bool] | None = None,
) -> str | None:
    """Make the directory ``dest`` (absolute image path) through the mounted ``root`` for a direct copy of
    the contents of ``source`` (resolved, relative to ``tree``'s root; ``skip`` as in `copy_tree`) and
    return its resolved path relative to the root, or None when a direct copy would differ from one through
    the mount: ``dest`` is not a directory, the merged view or any of ``lowers`` (the mount's lower
    directories) has anything below it, or it exists and the copy would make nothing in it. A missing
    ``dest`` is created as `make_dirs` creates it; an existing one is copied up by touching it, as creating
    its first entry through the mount would (with no first entry, the mount copies nothing up); the caller
    then settles the directory times."""
    host = rootpath.resolve_in_root(root, dest)
    rel = os.path.relpath(host, root)
    if rel == "." or rel.startswith("../"):
        return None
    try:
        st = os.lstat(host)
    except FileNotFoundError:
        st = None
    if st is not None and (not stat.S_ISDIR(st.st_mode) or os.listdir(host)):
        return None
    if any(_has_entries(Path(lower), rel) for lower in lowers):
        return None
    if st is None:
        make_dirs(root, dest, placement)
    elif not makes_entries(tree, source, skip):
        return None
    else:
        os.utime(host)  # the copy-up, and the mtime creating an entry would give it
    return rel


def makes_entries(tree: SourceTree, source: str, skip: Callable[[str], bool] | None = None) -> bool:
    """Does copying the contents of directory ``source`` (as `copy_tree` does) make any entry at all: one the
    tree includes, ``skip`` does not leave out, and of a kind that is copied? Only the top level counts: a
    directory is made even when everything below it is left out."""
    for base, _rel, entry in _listing(tree, source):
        if skip and skip(os.fsdecode(base)):
            continue
        try:
            if stat.S_IFMT(entry.stat(follow_symlinks=False).st_mode) in _COPIED:
                return True
        except FileNotFoundError:
            continue  # gone since the listing: the copy will not make it either
    return False


def _listing(tree: SourceTree, source: str) -> list[tuple[bytes, str, os.DirEntry]]:
    """The entries of source directory ``source`` that `SourceTree.listdir` gives (those the tree includes),
    in the layer's bytewise order: (name, path relative to the tree's root, the listing's entry, whose lstat
    is that of the same listing)."""
    root = os.fsencode(tree.root)
    src_dir = root + b"/" + os.fsencode(source) if source else root
    included = tree.included
    entries = []
    with os.scandir(src_dir) as listing:
        for entry in listing:
            rel = f"{source}/{os.fsdecode(entry.name)}" if source else os.fsdecode(entry.name)
            if included is None or included(rel):
                entries.append((entry.name, rel, entry))
    entries.sort(key=lambda e: e[0])
    return entries


def _has_entries(layer: Path, rel: str) -> bool:
    """Does the layer directory ``layer`` hold anything (a whiteout included) below ``rel``? Components are
    checked with lstat: a symlink or file on the way means nothing lies below ``rel`` in this layer."""
    path = layer
    for part in rel.split("/"):
        path = path / part
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        if not stat.S_ISDIR(st.st_mode):
            return False
    with os.scandir(path) as listing:
        return any(True for _ in listing)


def copy_tree(
    stream: LayerStream,
    upper: Path,
    rel: str,
    tree: SourceTree,
    source: str,
    placement: Placement,
    skip: Callable[[str], bool] | None = None,
    earlier: Earlier | None = None,
) -> bool:
    """Copy the contents of directory ``source`` (resolved, relative to ``tree``'s root) into ``upper/rel``
    (which `prepare` made; the mount is gone) and write the whole layer of ``upper`` into ``stream``, the
    end of archive excluded. ``skip(rel)`` leaves entries out (``--exclude``), as in `copy.copy_source`;
    ``earlier`` offers unchanged files of an earlier copy to link (see `Earlier`).

    Returns False when the stream may differ from `write_layer` of the upperdir (the copy itself is complete
    and correct either way). Raises `Unusable`, having written nothing, when ``upper`` holds anything but
    the directories leading to ``rel``; errors reading the source propagate as `copy_source`'s do.
    """
    target = upper / rel
    _check_only_the_path(upper, rel)
    before = os.lstat(target)
    stream.add_tree(os.fsencode(upper))
    copier = _Copier(stream, tree, placement, skip, earlier)
    fd = os.open(target, _DIR_FLAGS)
    try:
        copier.directory(source, fd, os.fsencode(target), os.fsencode(rel) + b"/", "")
        os.utime(fd, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = os.fstat(fd)
    finally:
        os.close(fd)
    same = (after.st_mode, after.st_uid, after.st_gid) == (before.st_mode, before.st_uid, before.st_gid)
    return copier.exact and same


def _check_only_the_path(upper: Path, rel: str) -> None:
    path = upper
    for part in [*rel.split("/"), None]:
        names = os.listdir(path)
        if names != ([] if part is None else [part]):
            raise Unusable(f"{path} holds {sorted(names)}")
        if part is not None:
            path = path / part
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise Unusable(f"{path} is not a directory")


def _xattrs(target: int | bytes) -> dict[str, bytes]:
    """The xattrs of an fd or (not followed) path, overlayfs' own left out."""
    follow = isinstance(target, int)
    try:
        names = os.listxattr(target, follow_symlinks=follow)
    except OSError as e:
        if e.errno == errno.ENOTSUP:
            return {}
        raise
    return {n: os.getxattr(target, n, follow_symlinks=follow) for n in names if not is_overlay_xattr(n)}


class _Made(NamedTuple):
    """A directory `_Copier` made, and what it gets once its contents are written."""

    st: os.stat_result
    uid: int
    gid: int
    mode: int
    predicted: tf.Header
    name: bytes


class _Frame(NamedTuple):
    """A directory being filled: the entries left to copy, its descriptor, its path and tar name prefix, the
    source path below the copied source, and (None for the caller's directory) what finishes it."""

    entries: Iterator[tuple[bytes, str, os.DirEntry]]
    fd: int
    path: bytes
    prefix: bytes
    below: str
    made: _Made | None


class _Copier:
    """One direct copy: the entries `_copy_entry` would make, each written into the stream once in place."""

    def __init__(
        self,
        stream: LayerStream,
        tree: SourceTree,
        placement: Placement,
        skip: Callable[[str], bool] | None,
        earlier: Earlier | None = None,
    ) -> None:
        self.stream = stream
        self.earlier = earlier
        self.tree = tree
        self.placement = placement
        self.skip = skip
        self.exact = True  # False once an entry's predicted header turned out wrong
        self.links: dict[tuple[int, int], tuple[bytes, dict[str, bytes]]] = {}  # source inode → dest, xattrs

    def _mode(self, st: os.stat_result, is_dir: bool) -> int:
        mode = stat.S_IMODE(st.st_mode)
        return self.placement.chmod(mode, is_dir) if self.placement.chmod else mode

    def _check(self, predicted: tf.Header, name: bytes, st: os.stat_result, xattrs: dict[str, bytes]) -> None:
        if tf.encode(self.stream.entry_header(name, st, xattrs)) != tf.encode(predicted):
            self.exact = False

    def directory(self, source: str, fd: int, path: bytes, prefix: bytes, below: str) -> None:
        """Copy the entries of source directory ``source`` into the directory open as ``fd`` (at ``path``),
        named ``prefix + name`` in the tar; ``below`` is ``source`` relative to the copied source.

        A stack of the directories being filled, not recursion: a context may nest directories thousands
        deep. Each holds its descriptor until its contents are written (then it gets its owner, mode and
        times); ``fd`` stays the caller's."""
        frames = [_Frame(iter(_listing(self.tree, source)), fd, path, prefix, below, None)]
        try:
            while frames:
                frame = frames[-1]
                item = next(frame.entries, None)
                if item is None:
                    frames.pop()
                    if frame.made is not None:
                        self._close_directory(frame.fd, frame.made)
                    continue
                child = self._entry(frame, *item)
                if child is not None:
                    frames.append(child)
        finally:
            for frame in frames[1:]:
                os.close(frame.fd)

    def _entry(self, frame: _Frame, base: bytes, rel: str, entry: os.DirEntry) -> _Frame | None:
        """Copy one listed entry; for a directory, the frame that fills it."""
        name = os.fsdecode(base)
        rel_below = f"{frame.below}/{name}" if frame.below else name
        if self.skip and self.skip(rel_below):
            return None
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            return None  # gone since the listing, as if it had not been listed
        kind = stat.S_IFMT(st.st_mode)
        path, tar_name = frame.path + b"/" + base, frame.prefix + base
        if kind == stat.S_IFREG:
            linked = self.earlier and self._linked(rel, rel_below, st, frame.fd, base, tar_name)
            if not linked:
                self._file(entry.path, st, frame.fd, path, base, tar_name)
        elif kind == stat.S_IFDIR:
            return self._directory(rel, st, frame.fd, path, base, tar_name, rel_below)
        elif kind == stat.S_IFLNK:
            self._symlink(entry.path, st, frame.fd, path, base, tar_name)
        elif kind == stat.S_IFIFO:
            self._fifo(st, frame.fd, path, base, tar_name)
        # sockets and devices are not copied
        return None

    def _directory(
        self, rel: str, st: os.stat_result, parent: int, path: bytes, base: bytes, name: bytes, below: str
    ) -> _Frame:
        os.mkdir(base, 0o700, dir_fd=parent)
        fd = os.open(base, _DIR_FLAGS, dir_fd=parent)
        try:
            uid, gid = self.placement.owner(self.tree, st)
            mode = self._mode(st, True)
            meta = _Meta(stat.S_IFDIR | mode, uid, gid, 0, st.st_mtime_ns)
            predicted = self.stream.entry_header(name, meta, _xattrs(fd))
            self.stream.write_header(predicted)
            entries = iter(_listing(self.tree, rel))
        except BaseException:
            os.close(fd)
            raise
        return _Frame(entries, fd, path, name + b"/", below, _Made(st, uid, gid, mode, predicted, name))

    def _close_directory(self, fd: int, made: _Made) -> None:
        """A directory's contents are written: give it its owner, mode and times, check it, close it."""
        try:
            os.fchown(fd, made.uid, made.gid)
            os.chmod(fd, made.mode)
            os.utime(fd, ns=(made.st.st_atime_ns, made.st.st_mtime_ns))
            self._check(made.predicted, made.name, os.fstat(fd), _xattrs(fd))
        finally:
            os.close(fd)

    def _symlink(
        self, src: bytes, st: os.stat_result, parent: int, path: bytes, base: bytes, name: bytes
    ) -> None:
        link = os.readlink(src)
        os.symlink(link, base, dir_fd=parent)
        uid, gid = self.placement.owner(self.tree, st)
        os.chown(base, uid, gid, dir_fd=parent, follow_symlinks=False)
        os.utime(base, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=parent, follow_symlinks=False)
        done = os.lstat(base, dir_fd=parent)
        self.stream.write_header(self.stream.entry_header(name, done, _xattrs(path), link))

    def _fifo(self, st: os.stat_result, parent: int, path: bytes, base: bytes, name: bytes) -> None:
        os.mkfifo(base, 0o600, dir_fd=parent)
        uid, gid = self.placement.owner(self.tree, st)
        os.chown(base, uid, gid, dir_fd=parent, follow_symlinks=False)
        os.chmod(base, self._mode(st, False), dir_fd=parent)
        os.utime(base, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=parent, follow_symlinks=False)
        self.stream.write_header(self.stream.entry_header(name, os.lstat(base, dir_fd=parent), _xattrs(path)))

    def _file(self, src: bytes, st: os.stat_result, parent: int, path: bytes, base: bytes, name: bytes) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.links:
            first, xattrs = self.links[key]
            os.link(first, base, dst_dir_fd=parent)
            self.stream.write_header(self.stream.entry_header(name, os.lstat(base, dir_fd=parent), xattrs))
            return
        source = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            fd = os.open(base, _NEW_FILE, 0o600, dir_fd=parent)
            try:
                if st.st_size <= _WHOLE:
                    done, xattrs = self._small(source, fd, st, name)
                else:
                    done, xattrs = self._large(source, fd, st, name)
            finally:
                os.close(fd)
        finally:
            os.close(source)
        if st.st_nlink > 1:
            self.stream.register_link(done, name)
            self.links[key] = (path, xattrs)

    def _linked(self, rel: str, below: str, st: os.stat_result, parent: int, base: bytes, name: bytes) -> bool:
        """Link the earlier copy of ``rel`` if it can stand for this one, and stream it; False if not."""
        uid, gid = self.placement.owner(self.tree, st)
        old = self.earlier.reusable(rel, below, st, self._mode(st, False), uid, gid)
        if old is None:
            return False
        try:
            os.link(old, base, dst_dir_fd=parent)
        except OSError:
            return False  # gone meanwhile (pruned): copy it
        fd = os.open(base, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            self._send(self.stream.entry_header(name, os.fstat(fd), _xattrs(fd)), fd)
        finally:
            os.close(fd)
        return True

    def _finish(self, fd: int, st: os.stat_result) -> tuple[os.stat_result, dict[str, bytes]]:
        os.fchown(fd, *self.placement.owner(self.tree, st))
        os.chmod(fd, self._mode(st, False))
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
        return os.fstat(fd), _xattrs(fd)

    def _small(
        self, source: int, fd: int, st: os.stat_result, name: bytes
    ) -> tuple[os.stat_result, dict[str, bytes]]:
        data = os.read(source, st.st_size + 1)  # a short read of a regular file is its end
        if len(data) > st.st_size:
            return self._grown(source, fd, st, name, data)
        _write_all(fd, data)
        done, xattrs = self._finish(fd, st)
        header = self.stream.entry_header(name, done, xattrs)
        if header.size != len(data):  # not what was written: some other writer is at work
            self.exact = False
            return done, xattrs
        self.stream.write_header(header)
        self.stream.write_data(data)
        self.stream.end_data(len(data))
        return done, xattrs

    def _grown(
        self, source: int, fd: int, st: os.stat_result, name: bytes, start: bytes
    ) -> tuple[os.stat_result, dict[str, bytes]]:
        """A small file that grew since it was listed (``start`` its first bytes): copied to its end a piece
        at a time, as `copy.copy_source` copies any file, then streamed from the copy, which no one else
        writes — never held whole, however far it grew."""
        _write_all(fd, start)
        del start
        while chunk := os.read(source, _WHOLE):
            _write_all(fd, chunk)
        done, xattrs = self._finish(fd, st)
        self._send(self.stream.entry_header(name, done, xattrs), fd)
        return done, xattrs

    def _send(self, header, fd: int) -> None:
        """Stream the entry ``header`` with its data read from ``fd`` from offset 0, a piece at a time. A
        file that turns out shorter than the header says is padded with zeros (the tar stays well formed)
        and the stream is marked not exact, so the commit archives the upperdir instead."""
        self.stream.write_header(header)
        sent = 0
        while sent < header.size and (chunk := os.pread(fd, min(_WHOLE, header.size - sent), sent)):
            self.stream.write_data(chunk)
            sent += len(chunk)
        if sent != header.size:
            self.stream.write_data(bytes(header.size - sent))
            self.exact = False
        self.stream.end_data(header.size)

    def _large(
        self, source: int, fd: int, st: os.stat_result, name: bytes
    ) -> tuple[os.stat_result, dict[str, bytes]]:
        uid, gid = self.placement.owner(self.tree, st)
        size = os.fstat(source).st_size
        meta = _Meta(stat.S_IFREG | self._mode(st, False), uid, gid, size, st.st_mtime_ns)
        predicted = self.stream.entry_header(name, meta, _xattrs(fd))
        self.stream.write_header(predicted)
        sent = 0
        while chunk := os.read(source, _WHOLE):
            _write_all(fd, chunk)
            if sent + len(chunk) <= size:
                self.stream.write_data(chunk)
            sent += len(chunk)
        if sent < size:
            self.stream.write_data(bytes(size - sent))  # keeps the tar well formed; the stream is not used
        self.stream.end_data(size)
        done, xattrs = self._finish(fd, st)
        if sent != size:
            self.exact = False
        self._check(predicted, name, done, xattrs)
        return done, xattrs


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    written = 0
    while written < len(data):
        written += os.write(fd, view[written:])
