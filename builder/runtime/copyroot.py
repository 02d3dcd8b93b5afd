"""The copying overlay mode, first half: a real directory holding what the layers show, to run a step on.

`populate` copies the merged layers (see `lowerview`) into an empty directory: contents, owners, modes,
times (to the nanosecond), xattrs other than overlayfs' own, file capabilities and setuid bits. Whiteouts
and opaque directories are honoured, so the copy is what an overlay mount would show. File data moves
in the kernel (copy_file_range, or a reflink where the file system shares blocks), never through memory in
whole; each layer name is a file of its own, as overlayfs (``index=off``) copies up each name apart.

`watermark` then returns a time after every change the copy made: `copydiff` knows any entry whose ctime
or birth time is later was touched by the step.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time

from builder.layer.whiteouts import is_overlay_xattr

from .lowerview import Lower, listing

_FICLONE = 0x40049409
_CHUNK = 1 << 24


def populate(root: bytes, layers: list[bytes]) -> set[int]:
    """Fill the empty directory ``root`` with the merged content of ``layers`` (roots, top first); return
    the inode numbers of the directories made.

    The root directory itself keeps its own owner and mode, as an overlay mount shows its upperdir's.
    """
    made: set[int] = set()
    _copy_dir(root, list(layers), made)
    return made


def _copy_dir(target: bytes, dirs: list[bytes], made: set[int]) -> None:
    entries = listing(dirs)
    for name in sorted(entries):
        lower = entries[name]
        path = target + b"/" + name
        mode = lower.st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(path, 0o700)
            made.add(os.lstat(path).st_ino)
            _copy_dir(path, lower.dirs or [], made)
        elif stat.S_ISREG(mode):
            copy_file(lower.path, path)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(lower.path), path)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
            os.mknod(path, stat.S_IFMT(mode) | 0o600, lower.st.st_rdev)
        else:
            continue  # a socket: nothing to copy (layers never hold one)
        copy_metadata(lower.path, path, lower.st)


def copy_file(source: bytes, target: bytes) -> None:
    """Copy a regular file's data, created 0600 (`copy_metadata` sets the rest)."""
    src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            _copy_data(src, dst)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _copy_data(src: int, dst: int) -> None:
    try:
        fcntl.ioctl(dst, _FICLONE, src)
        return
    except OSError:
        pass  # no shared blocks on this file system: copy
    try:
        while os.copy_file_range(src, dst, _CHUNK):
            pass
        return
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise
    os.lseek(src, 0, os.SEEK_SET)
    os.lseek(dst, 0, os.SEEK_SET)
    os.ftruncate(dst, 0)
    while chunk := os.read(src, 1 << 20):
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view) :]


def xattrs_of(path: bytes) -> dict[str, bytes]:
    """``path``'s xattrs (not followed), without overlayfs' and fuse-overlayfs' private ones."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return {}
        raise
    found = {}
    for name in names:
        if is_overlay_xattr(name):
            continue
        try:
            found[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError as e:
            if e.errno not in (errno.ENODATA, errno.EPERM):
                raise
    return found


def copy_metadata(source: bytes, target: bytes, st: os.stat_result) -> None:
    """Give ``target`` the owner, mode, xattrs and times of ``source`` (lstat'ed as ``st``)."""
    # chown first: it clears setuid/setgid and file capabilities, which chmod and the xattrs then set
    os.chown(target, st.st_uid, st.st_gid, follow_symlinks=False)
    is_link = stat.S_ISLNK(st.st_mode)
    if not is_link:
        os.chmod(target, stat.S_IMODE(st.st_mode))
    for name, value in xattrs_of(source).items():
        try:
            os.setxattr(target, name, value, follow_symlinks=False)
        except OSError as e:
            if e.errno == errno.ENOTSUP or (is_link and e.errno == errno.EPERM):
                continue  # as the layer code does: user. xattrs cannot sit on a symlink
            raise
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def watermark(directory: bytes) -> int:
    """A time (ns) no earlier than any change made so far, and earlier than any change made after return.

    File times come from a clock that ticks coarsely; this waits (a few ms) until a file touched in
    ``directory`` gets a later ctime than one touched first.
    """
    stamp = directory + b"/.stamp"
    fd = os.open(stamp, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        first = os.fstat(fd).st_ctime_ns
        while True:
            os.fchmod(fd, 0o600)
            if os.fstat(fd).st_ctime_ns > first:
                return first
            time.sleep(0.001)
    finally:
        os.close(fd)
        os.unlink(stamp)


__all__ = ["Lower", "copy_file", "copy_metadata", "populate", "watermark", "xattrs_of"]
