"""Whiteout conventions of the two layer forms pybuild handles.

OCI layer tars mark deletions with names: ``.wh.<name>`` deletes ``<name>`` from lower layers, and an entry
``.wh..wh..opq`` in a directory hides everything the lower layers have in that directory. overlayfs marks the
same things on disk: a deleted name is a character device 0/0 (or, since Linux 6.7, a regular file carrying
the ``overlay.whiteout`` xattr), and an opaque directory carries ``overlay.opaque=y``. The xattrs live under
``trusted.`` normally and under ``user.`` on mounts with ``userxattr``; both are recognised when reading.

fuse-overlayfs (1.10, checked as root and in a user namespace) leaves other forms in its upperdir: a deletion
is a 0/0 character device (mode 0700) as for the kernel, or an empty ``.wh.<name>`` file where mknod is
refused; an opaque directory carries ``trusted.overlay.opaque=y`` as root but ``user.fuseoverlayfs.opaque=y``
in a user namespace, plus an empty ``.wh..wh..opq`` file and a ``.wh..opq`` 0/0 device inside it; every
directory it creates is marked opaque, whether or not a lower layer had one there; copied-up files carry
``user.fuseoverlayfs.origin``. `to_kernel_form` rewrites such a directory into the kernel's form, so the store
keeps one form and the layer writer reads it unchanged. It honours the kernel's forms in its lowerdirs.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

WHITEOUT_PREFIX = b".wh."
#: The entry that makes its directory opaque.
OPAQUE_MARKER = b".wh..wh..opq"
#: Names starting with this are aufs metadata, never content (Docker skips them too).
META_PREFIX = b".wh..wh."

#: fuse-overlayfs' own xattrs (``origin``, and ``opaque`` where ``trusted.`` ones cannot be set).
FUSE_XATTR_PREFIX = "user.fuseoverlayfs."
OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.", FUSE_XATTR_PREFIX)
XATTR_OPAQUE = "trusted.overlay.opaque"
XATTR_WHITEOUT = "trusted.overlay.whiteout"
XATTR_OPAQUE_USER = "user.overlay.opaque"
XATTR_OPAQUE_FUSE = FUSE_XATTR_PREFIX + "opaque"
_OPAQUE_XATTRS = (XATTR_OPAQUE, XATTR_OPAQUE_USER, XATTR_OPAQUE_FUSE)


def is_overlay_xattr(name: str) -> bool:
    """True for overlayfs' private xattrs: they describe the overlay, not the file, and never enter a tar."""
    return name.startswith(OVERLAY_XATTR_PREFIXES)


def _getxattr(path: bytes, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM):
            return None
        raise


def is_whiteout(path: bytes, st: os.stat_result, xattrs: list[str] | None = None) -> bool:
    """Is the (lstat'ed) file at ``path`` an overlayfs whiteout?

    ``xattrs`` is the file's xattr name list when the caller already has it (saves a syscall per file).
    """
    if stat.S_ISCHR(st.st_mode):
        return st.st_rdev == 0
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        names = xattrs if xattrs is not None else os.listxattr(path, follow_symlinks=False)
        return any(n.endswith(".overlay.whiteout") and is_overlay_xattr(n) for n in names)
    return False


def is_opaque(path: bytes, xattrs: list[str] | None = None) -> bool:
    """Is the directory at ``path`` opaque (``overlay.opaque`` = ``y``)?

    The value ``x`` (Linux 6.7+) only says the directory holds xattr whiteouts; it does not hide lower
    content.
    """
    names = xattrs if xattrs is not None else os.listxattr(path, follow_symlinks=False)
    for name in names:
        if name in _OPAQUE_XATTRS:
            return _getxattr(path, name) == b"y"
    return False


def make_whiteout(path: bytes, uid: int = 0, gid: int = 0) -> None:
    """Create the overlayfs whiteout for ``path`` (a 0/0 character device); ``path`` must not exist."""
    os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))
    os.chown(path, uid, gid, follow_symlinks=False)


def mark_opaque(path: bytes, xattr: str) -> None:
    """Mark the directory at ``path`` opaque for overlayfs with ``xattr`` (`XATTR_OPAQUE`, or
    `XATTR_OPAQUE_USER` for mounts with ``userxattr``: `builder.layer.form.LayerForm.opaque_xattr`)."""
    os.setxattr(path, xattr, b"y", follow_symlinks=False)


def _is_device_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _listxattrs(path: bytes) -> list[str]:
    try:
        return os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return []
        raise


def to_kernel_form(root: bytes, lower: Callable[[bytes], os.stat_result | None], opaque_xattr: str) -> None:
    """Rewrite the fuse-overlayfs upperdir ``root`` (no longer mounted) into the kernel overlay's form.

    ``lower(relative path)`` is what the lower layers show there (lstat'ed), or None. ``.wh.<name>`` files
    become 0/0 devices, ``.wh..wh..opq`` files and other ``.wh.``-named entries go, fuse-overlayfs' xattrs
    are removed; a whiteout, or a directory's opaque mark (kept as `opaque_xattr`), stays only where it
    hides something below — the only place the kernel makes one (fuse-overlayfs marks every directory it
    makes, and whites out every directory removed). ``opaque_xattr`` is the mark the kernel mount reads
    (`builder.layer.form.LayerForm.opaque_xattr`).

    Times: the kernel keeps a directory's times when it copies a child up; fuse-overlayfs does not. A
    directory the lower layers have, whose entries in the upperdir are all copied up (files carrying the
    ``origin`` xattr, directories not remade) — no name added, removed or replaced — and whose mtime is no
    later than the last of those copies (not touched after), gets the lower directory's times back. Other
    directories keep theirs (so does one holding a copied-up symlink, which cannot carry the xattr: a
    known difference). Idempotent.
    """
    _normalize_dir(root, b"", lower, opaque_xattr)


def _normalize_dir(
    path: bytes, rel: bytes, lower: Callable[[bytes], os.stat_result | None], opaque_xattr: str
) -> None:
    before = os.lstat(path)
    below = lower(rel)
    names = _listxattrs(path)
    with os.scandir(path) as it:
        entries = sorted(((e.name, e.path, e.stat(follow_symlinks=False)) for e in it), key=lambda x: x[0])
    opaque = is_opaque(path, names) or any(name == OPAQUE_MARKER for name, _, _ in entries)
    if opaque:
        # nothing of the lower layers shows through an opaque directory: below it, as the kernel sees it,
        # there is nothing to hide (no whiteout, no opaque mark) and nothing copied up
        lower = _nothing_below
    edited = False  # whether this pass changed the directory's entries (its times then need restoring)
    renamed = opaque  # whether the step added, removed or replaced a name here
    last_copy = None  # the latest ctime of a child: when fuse-overlayfs last put one here
    for name, child, st in entries:
        child_rel = rel + b"/" + name if rel else name
        if name.startswith(WHITEOUT_PREFIX):
            edited = True
            if name == OPAQUE_MARKER:
                opaque = renamed = True
            hidden = name[len(WHITEOUT_PREFIX) :]
            if stat.S_ISDIR(st.st_mode):
                raise OSError(errno.EINVAL, "a directory named like a whiteout in an upperdir", child)
            os.unlink(child)
            if name.startswith(META_PREFIX) or not stat.S_ISREG(st.st_mode) or not hidden:
                continue  # fuse-overlayfs metadata, or a whiteout of such a name: never content
            target = os.path.join(path, hidden)
            if not os.path.lexists(target) and lower(rel + b"/" + hidden if rel else hidden) is not None:
                make_whiteout(target)
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
                renamed = True
            continue
        if _is_device_whiteout(st):
            if lower(child_rel) is None:
                os.unlink(child)
                edited = True
            else:
                renamed = True
            continue
        child_below = lower(child_rel)
        last_copy = max(last_copy or 0, st.st_ctime_ns)
        if stat.S_ISDIR(st.st_mode):
            if child_below is None or not stat.S_ISDIR(child_below.st_mode) or is_opaque(child):
                renamed = True
        elif child_below is None or not any(n.startswith(FUSE_XATTR_PREFIX) for n in _listxattrs(child)):
            renamed = True  # made anew, not copied up (copies carry fuse-overlayfs' origin xattr)
        _drop_fuse_xattrs(child, st)
        if stat.S_ISDIR(st.st_mode):
            _normalize_dir(child, child_rel, lower, opaque_xattr)
    for name in names:
        if name in _OPAQUE_XATTRS or name.startswith(FUSE_XATTR_PREFIX):
            os.removexattr(path, name, follow_symlinks=False)
    if opaque and below is not None:
        mark_opaque(path, opaque_xattr)
    # "no later": within a millisecond, as a child's ctime and its directory's mtime from one rename may be
    # taken a few nanoseconds apart where the kernel keeps fine-grained times
    copied_only = not renamed and last_copy is not None and before.st_mtime_ns <= last_copy + 1_000_000
    if rel and copied_only and below is not None and stat.S_ISDIR(below.st_mode):
        os.utime(path, ns=(below.st_atime_ns, below.st_mtime_ns), follow_symlinks=False)
    elif edited:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)


def _nothing_below(rel: bytes) -> None:
    return None


def _drop_fuse_xattrs(path: bytes, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        return  # a directory's own xattrs are handled with its opaque mark
    for name in _listxattrs(path):
        if name.startswith(FUSE_XATTR_PREFIX):
            os.removexattr(path, name, follow_symlinks=False)
