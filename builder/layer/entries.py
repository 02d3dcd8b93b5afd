"""Putting single tar entries in place under a Target, and the whiteout logic of both apply modes."""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from builder.layer.errors import LayerError
from builder.layer.form import LayerForm
from builder.layer.paths import Target
from builder.layer.whiteouts import make_whiteout, mark_opaque

_CHUNK = 1 << 20


def set_xattrs(target: int | bytes, xattrs: dict[str, bytes], shown: bytes, *, is_symlink: bool = False):
    """Set ``xattrs`` on an fd or (without following it) a path. A filesystem without xattr support, and
    ``user.`` xattrs on symlinks (which Linux forbids), are skipped, as containerd skips them."""
    for name, value in xattrs.items():
        try:
            if isinstance(target, int):
                os.setxattr(target, name, value)
            else:
                os.setxattr(target, name, value, follow_symlinks=False)
        except OSError as e:
            if e.errno == errno.ENOTSUP or (is_symlink and e.errno == errno.EPERM):
                continue
            raise LayerError(f"cannot set xattr {name} on {os.fsdecode(shown)!r}: {e.strerror}") from e


class Applier:
    """Applies entries in tar order. ``flatten`` selects the mode (see ``apply_layer``); ``form`` says how
    opaque directories are marked and whether device nodes that cannot be made are skipped.

    Whiteouts hide only lower content: the applier remembers every path this layer put in place (and their
    ancestors), and a whiteout or opaque marker, whenever it comes, removes (flatten) or masks (overlay)
    everything else.
    """

    def __init__(self, target: Target, *, flatten: bool, form: LayerForm) -> None:
        self.t = target
        self.flatten = flatten
        self.form = form
        self.created: set[bytes] = set()
        self.ancestors: set[bytes] = set()  # proper ancestors of created paths
        self.dir_times: list[tuple[bytes, int]] = []  # set last: creating children changes a dir's mtime

    # -- bookkeeping -------------------------------------------------------------------------------------
    def _mark(self, rel: bytes) -> None:
        self.created.add(rel)
        parent = rel
        while b"/" in parent:
            parent = parent.rpartition(b"/")[0]
            if parent in self.ancestors:
                break
            self.ancestors.add(parent)

    def _prepare(self, rel: bytes, *, keep_dir: bool = False) -> tuple[bytes, os.stat_result | None]:
        """Make the parents of ``rel`` and clear its place (unless it is a directory and ``keep_dir``)."""
        path = self.t.parent(rel, create=True, on_create=self._mark)
        st = self.t.lstat(rel)
        if st is not None and not (keep_dir and stat.S_ISDIR(st.st_mode)):
            self.t.remove(rel, st)
            st = None
        self._mark(rel)
        return path, st

    @staticmethod
    def _owner_mode(path: bytes, meta: dict) -> None:
        # chown first: it clears setuid/setgid and file capabilities, which chmod and xattrs then set.
        os.chown(path, meta["uid"], meta["gid"], follow_symlinks=False)
        os.chmod(path, meta["mode"])

    # -- entries -----------------------------------------------------------------------------------------
    def file(self, rel: bytes, meta: dict, data: BinaryIO, size: int) -> None:
        path, _ = self._prepare(rel)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            left = size
            while left:
                chunk = data.read(min(_CHUNK, left))
                if not chunk:
                    raise LayerError(f"layer entry {os.fsdecode(rel)!r} is truncated")
                _write_all(fd, chunk)
                left -= len(chunk)
            os.fchown(fd, meta["uid"], meta["gid"])
            os.fchmod(fd, meta["mode"])
            set_xattrs(fd, meta["xattrs"], path)
            os.utime(fd, ns=(meta["mtime_ns"], meta["mtime_ns"]))
        finally:
            os.close(fd)

    def directory(self, rel: bytes, meta: dict) -> None:
        path, st = self._prepare(rel, keep_dir=True)
        if st is None:
            os.mkdir(path, 0o700)
        self._owner_mode(path, meta)
        set_xattrs(path, meta["xattrs"], path)
        self.dir_times.append((rel, meta["mtime_ns"]))

    def symlink(self, rel: bytes, meta: dict, target: bytes) -> None:
        path, _ = self._prepare(rel)
        os.symlink(target, path)
        os.chown(path, meta["uid"], meta["gid"], follow_symlinks=False)
        set_xattrs(path, meta["xattrs"], path, is_symlink=True)
        os.utime(path, ns=(meta["mtime_ns"], meta["mtime_ns"]), follow_symlinks=False)

    def node(self, rel: bytes, meta: dict, kind: int, rdev: int) -> None:
        path, _ = self._prepare(rel)
        if kind == stat.S_IFIFO:
            os.mkfifo(path, 0o600)
        else:
            try:
                os.mknod(path, kind | 0o600, rdev)
            except PermissionError:
                if not self.form.skips_devices:
                    raise
                return  # in a user namespace (see `builder.layer.form`)
        self._owner_mode(path, meta)
        set_xattrs(path, meta["xattrs"], path)
        os.utime(path, ns=(meta["mtime_ns"], meta["mtime_ns"]), follow_symlinks=False)

    def hardlink(self, rel: bytes, target: bytes) -> None:
        if not target:
            raise LayerError(f"layer entry {os.fsdecode(rel)!r} is a hard link to the target's root")
        source = self.t.parent(target, create=False)
        st = self.t.lstat(target)
        if st is None:
            shown = os.fsdecode(target)
            raise LayerError(f"layer entry {os.fsdecode(rel)!r} links to {shown!r}, which does not exist")
        if stat.S_ISDIR(st.st_mode):
            raise LayerError(f"layer entry {os.fsdecode(rel)!r} is a hard link to a directory")
        if rel == target:
            return
        path, _ = self._prepare(rel)
        os.link(source, path, follow_symlinks=False)  # links a symlink itself, never what it points at

    # -- whiteouts ---------------------------------------------------------------------------------------
    def whiteout(self, rel: bytes) -> None:
        """Hide what lower layers have at ``rel``."""
        path = self.t.parent(rel, create=True, on_create=self._mark)
        st = self.t.lstat(rel)
        if self.flatten:
            if st is not None:
                self._hide_lower(rel, st)
        elif rel in self.created or rel in self.ancestors:
            # The layer has its own entry here; over a directory, the whiteout still hides the lower one's
            # content, which in overlay form is an opaque directory.
            if st is not None and stat.S_ISDIR(st.st_mode):
                mark_opaque(path, self.form.opaque_xattr)
        elif st is None:
            make_whiteout(path)

    def opaque(self, rel: bytes) -> None:
        """Hide everything lower layers have inside the directory ``rel`` (``b""`` is the root)."""
        if rel:
            path, st = self._prepare(rel, keep_dir=True)
            if st is None:
                os.mkdir(path, 0o755)
        else:
            path = self.t.root
        if not self.flatten:
            mark_opaque(path, self.form.opaque_xattr)
            return
        for name in os.listdir(path):
            child = rel + b"/" + name if rel else name
            self._hide_lower(child, os.lstat(self.t.path(child)))

    def _hide_lower(self, rel: bytes, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode) and (rel in self.created or rel in self.ancestors):
            for name in os.listdir(self.t.path(rel)):
                child = rel + b"/" + name
                self._hide_lower(child, os.lstat(self.t.path(child)))
        elif rel not in self.created:
            self.t.remove(rel, st)

    def finish(self) -> None:
        """Set directory mtimes, now that nothing more is created inside them."""
        for rel, mtime_ns in reversed(self.dir_times):
            try:
                path = self.t.parent(rel, create=False)
            except LayerError:
                continue  # a later entry replaced a directory above it; this one is gone
            st = self.t.lstat(rel)
            if st is not None and stat.S_ISDIR(st.st_mode):
                os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
