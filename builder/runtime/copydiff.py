"""The copying overlay mode, second half: what a step changed in its copied root, as an overlay upperdir.

`write_diff` walks the root the step ran on beside the layers it was copied from and puts into the upperdir
what the kernel overlay would have left there:

* an entry the layers do not show, or show as another type: moved into the upperdir whole; a directory
  that replaces something (or was made anew where the layers have one: `rm -rf /d && mkdir /d`) is marked
  opaque, with none of the lower content below it;
* an entry that differs from the layers' in type, mode, owner, size, mtime (ns), link target, device
  number or xattrs — containers/storage's "naive diff" — or that the step touched at all (its ctime is past
  the copy's watermark: a same-size rewrite with the old mtime restored is still a change, as a copy-up
  would make it): moved into the upperdir;
* a directory holding any of those, or itself changed: made in the upperdir with its metadata;
* a name the layers show and the root no longer has: a whiteout (0/0 character device).

Entries are moved (renamed; copied across file systems), so file data never passes through memory and
names that share an inode in the root share it in the upperdir. The root is consumed: call this once the
step is done with it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import struct

from builder.layer.whiteouts import is_opaque, make_whiteout, mark_opaque

from .copyroot import copy_file, copy_metadata, xattrs_of
from .lowerview import Lower, listing

_AT_FDCWD = -100
_AT_SYMLINK_NOFOLLOW = 0x100
_STATX_BTIME = 0x800
_STATX_SIZE = 256


def _birth_ns(path: bytes) -> int | None:
    """``path``'s birth time (statx), or None where the file system does not keep one."""
    from builder.libc import libc

    buffer = ctypes.create_string_buffer(_STATX_SIZE)
    if libc().statx(_AT_FDCWD, path, _AT_SYMLINK_NOFOLLOW, _STATX_BTIME, buffer) != 0:
        return None
    if not struct.unpack_from("I", buffer, 0)[0] & _STATX_BTIME:
        return None
    seconds, nanoseconds = struct.unpack_from("qI", buffer, 80)
    return seconds * 1_000_000_000 + nanoseconds


def write_diff(
    root: bytes,
    layers: list[bytes],
    upper: bytes,
    *,
    since: int,
    copied_dirs: set[int],
    old_upper: bytes | None = None,
    opaque_xattr: str,
) -> None:
    """Fill ``upper`` with ``root``'s changes against ``layers`` (see the module docstring).

    ``since``: the watermark taken after ``root`` was populated; ``copied_dirs``: inode numbers of the
    directories the copy made (how a re-made directory is told where birth times are unknown);
    ``old_upper``: what ``upper`` held before the step, whose entries stay in it as they would on an overlay;
    ``opaque_xattr``: the opaque mark a kernel overlay here reads (`builder.layer.form.LayerForm`).
    """
    st = os.lstat(root)  # before entries move out of it, which changes its times
    _Diff(since, copied_dirs, old_upper, opaque_xattr).directory(root, upper, b"", listing(layers))
    copy_metadata(root, upper, st)


class _Diff:
    def __init__(self, since: int, copied_dirs: set[int], old_upper: bytes | None, opaque_xattr: str) -> None:
        self.since = since
        self.opaque_xattr = opaque_xattr
        self.copied_dirs = copied_dirs
        self.old_upper = old_upper

    def directory(self, src: bytes, dst: bytes, rel: bytes, lowers: dict[bytes, Lower]) -> bool:
        """Put ``src``'s changes into the existing directory ``dst``; whether anything went there."""
        with os.scandir(src) as it:
            entries = sorted(((e.name, e.path, e.stat(follow_symlinks=False)) for e in it), key=lambda x: x[0])
        wrote = False
        present = set()
        for name, path, st in entries:
            present.add(name)
            child = rel + b"/" + name if rel else name
            target = dst + b"/" + name
            lower = lowers.get(name)
            is_dir = stat.S_ISDIR(st.st_mode)
            if lower is None:
                self.move(path, target, st)
            elif is_dir and (not stat.S_ISDIR(lower.st.st_mode) or self.remade(path, st, child)):
                self.move(path, target, st)
                mark_opaque(target, self.opaque_xattr)
            elif is_dir:
                os.mkdir(target, 0o700)
                inner = self.directory(path, target, child, listing(lower.dirs or []))
                if inner or self.changed(path, st, lower) or self.kept(child):
                    copy_metadata(path, target, st)
                else:
                    os.rmdir(target)
                    continue
            elif self.changed(path, st, lower) or self.kept(child):
                self.move(path, target, st)
            else:
                continue
            wrote = True
        for name in lowers.keys() - present:
            make_whiteout(dst + b"/" + name)
            wrote = True
        return wrote

    def kept(self, rel: bytes) -> bool:
        """Whether the upperdir had ``rel`` before the step: an overlay never moves an entry back down."""
        return self.old_upper is not None and os.path.lexists(self.old_upper + b"/" + rel)

    def remade(self, path: bytes, st: os.stat_result, rel: bytes) -> bool:
        """Whether the directory at ``path`` is not the one the copy made (deleted and made again)."""
        if self.old_upper is not None:
            before = self.old_upper + b"/" + rel
            if os.path.isdir(before) and not os.path.islink(before) and is_opaque(before):
                return True
        born = _birth_ns(path)
        if born is not None:
            return born > self.since
        return st.st_ino not in self.copied_dirs

    def changed(self, path: bytes, st: os.stat_result, lower: Lower) -> bool:
        old = lower.st
        if st.st_ctime_ns > self.since:
            return True
        if _identity(st) != _identity(old):
            return True
        if not stat.S_ISDIR(st.st_mode) and st.st_size != old.st_size:
            return True
        if stat.S_ISLNK(st.st_mode) and os.readlink(path) != os.readlink(lower.path):
            return True
        if (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)) and st.st_rdev != old.st_rdev:
            return True
        return xattrs_of(path) != xattrs_of(lower.path)

    def move(self, path: bytes, target: bytes, st: os.stat_result) -> None:
        """Move the entry (a whole tree for a directory) from the root into the upperdir, times kept."""
        try:
            os.rename(path, target)
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise
            _copy_tree(path, target, st, {})
        # moving a directory rewrites its ".." entry, which some file systems count as a change
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns


def _copy_tree(path: bytes, target: bytes, st: os.stat_result, links: dict[tuple[int, int], bytes]) -> None:
    """Copy an entry to another file system; names that share an inode stay linked (``links``)."""
    mode = st.st_mode
    if stat.S_ISREG(mode) and st.st_nlink > 1:
        first = links.setdefault((st.st_dev, st.st_ino), target)
        if first != target:
            os.link(first, target)
            return
    if stat.S_ISDIR(mode):
        os.mkdir(target, 0o700)
        with os.scandir(path) as it:
            for entry in it:
                child = entry.stat(follow_symlinks=False)
                _copy_tree(entry.path, target + b"/" + entry.name, child, links)
    elif stat.S_ISREG(mode):
        copy_file(path, target)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(path), target)
    elif stat.S_ISSOCK(mode):
        return  # cannot be copied, and a layer drops it anyway
    else:
        os.mknod(target, stat.S_IFMT(mode) | 0o600, st.st_rdev)
    copy_metadata(path, target, st)
