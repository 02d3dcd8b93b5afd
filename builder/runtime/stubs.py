"""Mountpoints made for a step's container, and their removal afterwards: a RUN leaves no trace of them.

runc needs a mountpoint for every mount of the container: /proc, /dev (and /dev/pts, /dev/shm, /dev/mqueue
inside it), /sys (and /sys/fs/cgroup), /etc/hosts, /etc/resolv.conf and any extra mount. When the image
lacks one, something must create it in the rootfs, which is the step's overlay, so it would land in the
upperdir, and with it the directory overlayfs copies up to hold it (``etc/`` for /etc/hosts).

BuildKit (v0.13 as 20.10) removes only the stubs of /etc/hosts and /etc/resolv.conf and of extra mounts: a base
without /dev, /proc, /sys gains those directories in its first RUN layer, and ``etc/`` is in every RUN
layer, copied up and empty. pybuild deliberately does not copy that: DESIGN.md requires that no mountpoint
leaves a trace, so the upperdir holds only what the process itself changed. The rule:

* Before runc starts (`Stubs.create`), each mount destination that does not exist is created here, with any
  missing parents: an empty file (mode 0755) for a bind mount of anything but a directory, a directory (mode
  0755) otherwise, as runc would. A destination below an earlier mount's (/dev/pts below /dev) is left to
  runc, which makes it inside that mount, outside the rootfs. The times of each existing directory stubs
  are made in are noted just before and just after.
* After the container is gone, the overlay still mounted (`Stubs.remove`), each stub that is still an empty
  file or an empty directory is removed, innermost first. The directory it was in gets back the times it
  had before the stubs were made if the process did not touch it since, else (like BuildKit) the times it
  had just before the removal, so a change the process made to it is kept.
* After the overlay is unmounted (`Stubs.prune_upper`; never while it is mounted, because writing to an
  upperdir under a live overlay is undefined, and removing through the mount would leave a whiteout), each
  directory that was only in the lower layers before the stubs were made and is now in the upperdir is
  removed from the upperdir, innermost first, when all of these hold: it is empty in the upperdir; its
  mode, owner, mtime and xattrs equal what the lower layers showed; and its only overlayfs xattrs are
  ``trusted.overlay.origin`` and ``trusted.overlay.impure``, which overlayfs writes on any copy-up and which
  say nothing about the directory's content. Anything else (``trusted.overlay.opaque`` above all) means the
  process changed the directory, and so does any entry in it (whiteouts included): it stays. atime is not
  compared: a layer does not record it, and reading a directory is no change.

A directory that existed in the upperdir before (the working directory created for the step, or a
prepared scratch rootfs) is never pruned.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from builder.fsops.rootpath import resolve_in_root

#: overlayfs' own xattrs: ``trusted.`` normally, ``user.`` on a ``userxattr`` mount (rootless builds).
_OVERLAY_XATTR = ("trusted.overlay.", "user.overlay.")
#: Written by overlayfs on every copy-up (the lower inode's handle; "has copied-up children"): not a change.
_COPY_UP_XATTRS = frozenset(f"{p}{n}" for p in _OVERLAY_XATTR for n in ("origin", "impure"))
_STUB_MODE = 0o755


@dataclass(frozen=True)
class _DirState:
    """What a layer records of a directory besides its entries."""

    mode: int
    uid: int
    gid: int
    mtime_ns: int
    xattrs: tuple[tuple[str, bytes], ...]


def _xattr_names(path: Path) -> list[str]:
    try:
        return os.listxattr(path, follow_symlinks=False)
    except OSError as error:
        if error.errno == errno.ENOTSUP:
            return []
        raise


def _dir_state(path: Path) -> _DirState:
    """``path``'s state, without overlayfs' own xattrs (a merged view never shows them anyway)."""
    st = os.lstat(path)
    names = sorted(n for n in _xattr_names(path) if not n.startswith(_OVERLAY_XATTR))
    xattrs = tuple((n, os.getxattr(path, n, follow_symlinks=False)) for n in names)
    return _DirState(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns, xattrs)


def _needs_file(mount: Mapping) -> bool:
    """Whether runc mounts ``mount`` on a file: a bind mount whose source is not a directory."""
    options = mount.get("options") or []
    is_bind = mount.get("type") == "bind" or "bind" in options or "rbind" in options
    return is_bind and not os.path.isdir(mount.get("source", ""))


def _is_inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class Stubs:
    """The mountpoints made for one step's container (see the module docstring for the rule).

    Call `create` with the overlay mounted and before runc runs, `remove` once the container is deleted
    (overlay still mounted), `prune_upper` once the overlay is unmounted. Each copes with a `create` cut
    short by an interrupt, and each does nothing when called again.
    """

    def __init__(self, rootfs: Path, upperdir: Path) -> None:
        self.rootfs = rootfs
        self.upperdir = Path(os.path.abspath(upperdir))
        self._root = os.path.realpath(rootfs)
        self._made: list[str] = []  # real host paths of the stubs, outermost first
        # Existing directory a stub was made in → (its stat before the first stub, its mtime after the last).
        self._parents: dict[str, tuple[os.stat_result, int | None]] = {}
        # Path (relative to the root) of each directory only the lower layers had → its state there.
        self._lower_dirs: dict[str, _DirState] = {}

    def create(self, mounts: Iterable[Mapping]) -> None:
        """Make the missing mountpoints of ``mounts`` (runtime-spec mount objects, in the config's order)."""
        covered: list[str] = []
        for mount in mounts:
            try:
                target = str(resolve_in_root(Path(self._root), mount["destination"]))
            except OSError:
                continue  # a symlink loop: runc reports it
            if target == self._root:
                continue
            if any(_is_inside(earlier, target) for earlier in covered):
                continue  # runc makes it inside an earlier mount (/dev/pts in /dev's tmpfs), not in the rootfs
            covered.append(target)
            missing: list[str] = []
            path = target
            while path != self._root and not os.path.lexists(path):
                missing.append(path)
                path = os.path.dirname(path)
            if not missing or not os.path.isdir(path) or os.path.islink(path):
                continue  # nothing to make, or runc fails on this mount anyway and says why
            self._note_parent(path)
            for stub in reversed(missing):
                try:
                    if stub == missing[0] and _needs_file(mount):
                        os.close(os.open(stub, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, _STUB_MODE))
                    else:
                        os.mkdir(stub)
                    os.chmod(stub, _STUB_MODE)  # whatever our umask is, as runc does
                except OSError:
                    break
                self._made.append(stub)
        for parent, (before, _after) in self._parents.items():
            self._parents[parent] = (before, os.lstat(parent).st_mtime_ns)

    def _note_parent(self, directory: str) -> None:
        if directory in self._parents:
            return
        self._parents[directory] = (os.lstat(directory), None)
        # This directory and its ancestors get copied up when a stub is made in it, unless already there.
        while directory != self._root:
            relative = os.path.relpath(directory, self._root)
            if relative in self._lower_dirs or os.path.lexists(self.upperdir / relative):
                break
            self._lower_dirs[relative] = _dir_state(Path(directory))
            directory = os.path.dirname(directory)

    def remove(self) -> None:
        """Remove the stubs that are still an empty file or directory, through the mount, innermost first.

        Each path is checked again against the root first: the process may have replaced a parent with a
        symlink.
        """
        made, self._made = self._made, []
        for stub in reversed(made):
            parent = os.path.realpath(os.path.dirname(stub))
            if not _is_inside(self._root, parent):
                continue
            path = os.path.join(parent, os.path.basename(stub))
            try:
                st = os.lstat(path)
                is_dir = stat.S_ISDIR(st.st_mode)
                if is_dir and os.listdir(path):
                    continue
                if not is_dir and not (stat.S_ISREG(st.st_mode) and st.st_size == 0):
                    continue
                parent_st = os.lstat(parent)
                os.rmdir(path) if is_dir else os.unlink(path)
            except OSError:
                continue
            before, after = self._parents.get(parent, (None, None))
            untouched = before is not None and parent_st.st_mtime_ns == after
            times = before if untouched else parent_st
            os.utime(parent, ns=(times.st_atime_ns, times.st_mtime_ns), follow_symlinks=False)

    def prune_upper(self) -> None:
        """Remove from the upperdir the directories copied up only to hold stubs; the overlay must be
        unmounted."""
        lower_dirs, self._lower_dirs = self._lower_dirs, {}
        for relative in sorted(lower_dirs, key=lambda r: r.count("/"), reverse=True):
            path = self.upperdir / relative
            try:
                if not self._unchanged(path, lower_dirs[relative]):
                    continue
                parent_st = os.lstat(path.parent)
                os.rmdir(path)
            except OSError:
                continue
            os.utime(path.parent, ns=(parent_st.st_atime_ns, parent_st.st_mtime_ns), follow_symlinks=False)

    @staticmethod
    def _unchanged(path: Path, lower: _DirState) -> bool:
        if not stat.S_ISDIR(os.lstat(path).st_mode) or os.listdir(path):
            return False
        overlay = {n for n in _xattr_names(path) if n.startswith(_OVERLAY_XATTR)}
        return overlay <= _COPY_UP_XATTRS and _dir_state(path) == lower
