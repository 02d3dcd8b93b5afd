"""Durable file-system primitives: fsync'd atomic writes, no-replace renames, tree removal that stays on
one file system.

Every write the store makes becomes visible by a single ``rename`` of content written under a temporary
name on the same file system. `atomic_write` (small records: tags, cache and layer records) also fsyncs the
file before and the directory after the rename; blobs and layers are not flushed but journaled
(`builder.store.journal`), and `syncfs` is only for a durability point off the build path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from pathlib import Path

from builder.faults import checkpoint
from builder.libc import last_errno, libc

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_MNT_DETACH = 2
_OCTAL = re.compile(rb"\\([0-7]{3})")


def fsync_dir(path: Path) -> None:
    """Flush ``path``'s directory entries (the renames and unlinks made in it) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def syncfs(path: Path) -> None:
    """Flush the whole file system holding ``path``: cheaper than fsync'ing every file of a large tree."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc().syncfs(fd) != 0:
            err = last_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


TEMP_PREFIX = ".w-"


def atomic_write(target: Path, data: bytes, tmp_dir: Path, mode: int = 0o644) -> None:
    """Replace ``target`` with ``data`` so that a crash leaves either the old or the new content, never a mix.

    ``tmp_dir`` must be on the same file system as ``target`` (the temporary file is renamed, not copied).
    """
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        checkpoint("record.written")
        os.replace(tmp, target)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(target.parent)


def rename_noreplace(src: Path, dst: Path) -> bool:
    """Rename ``src`` to ``dst`` unless ``dst`` exists; returns False (and leaves ``src``) if it does.

    Uses renameat2(RENAME_NOREPLACE) so the check and the rename are one atomic step; on a file system
    without it, falls back to rename(2), which for directories still refuses a non-empty target.
    """
    result = libc().renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE)
    if result == 0:
        return True
    err = last_errno()
    if err == errno.EEXIST:
        return False
    if err not in (errno.EINVAL, errno.ENOSYS):
        raise OSError(err, os.strerror(err), str(src), None, str(dst))
    if os.path.lexists(dst):
        return False
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise
    return True


def remove_tree(path: Path) -> None:
    """Delete ``path`` and everything below it without ever following a symlink or crossing into another
    file system.

    A crashed build may leave a mount (an overlay rootfs) inside its staging directory; deleting through
    it would delete lower layers' content. Such mounts are detached first (when we may), and anything still
    on another file system is left in place rather than entered. Missing paths are not an error.
    """
    try:
        top = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(top.st_mode):
        _unlink_quietly(path)
        return
    _detach_mounts_below(Path(path))
    top_dev = os.lstat(path).st_dev
    # Iterative post-order walk: layer trees can be deeper than Python's recursion limit.
    stack: list[tuple[str, bool]] = [(os.fspath(path), False)]
    while stack:
        current, visited = stack.pop()
        if visited:
            _rmdir_quietly(current)
            continue
        stack.append((current, True))
        try:
            _make_searchable(current)
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if st.st_dev == top_dev:
                    stack.append((entry.path, False))
            else:
                _unlink_quietly(entry.path)


def _make_searchable(path: str) -> None:
    # Overlay work dirs are mode 000; root ignores that, an unprivileged owner must chmod first.
    if os.geteuid() != 0:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o700)


def _unlink_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except PermissionError:
        parent = os.path.dirname(os.fspath(path))
        try:
            os.chmod(parent, 0o700)
            os.unlink(path)
        except OSError:
            pass


def _rmdir_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _mount_points() -> list[str]:
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    points = []
    for line in lines:
        fields = line.split(b" ")
        if len(fields) > 4:
            # mountinfo escapes space, tab, newline and backslash as three octal digits.
            raw = _OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), fields[4])
            points.append(os.fsdecode(raw))
    return points


def _detach_mounts_below(path: Path) -> None:
    if os.geteuid() != 0:
        return
    prefix = os.path.realpath(path)
    below = [p for p in _mount_points() if p == prefix or p.startswith(prefix + "/")]
    for point in sorted(below, key=len, reverse=True):
        libc().umount2(os.fsencode(point), _MNT_DETACH)
