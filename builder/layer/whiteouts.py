"""Whiteout conventions of the two layer forms pybuild handles.

OCI layer tars mark deletions with names: ``.wh.<name>`` deletes ``<name>`` from lower layers, and an entry
``.wh..wh..opq`` in a directory hides everything the lower layers have in that directory. overlayfs marks the
same things on disk: a deleted name is a character device 0/0 (or, since Linux 6.7, a regular file carrying
the ``overlay.whiteout`` xattr), and an opaque directory carries ``overlay.opaque=y``. The xattrs live under
``trusted.`` normally and under ``user.`` on mounts with ``userxattr``; both are recognised when reading.
"""

from __future__ import annotations

import errno
import os
import stat

WHITEOUT_PREFIX = b".wh."
#: The entry that makes its directory opaque.
OPAQUE_MARKER = b".wh..wh..opq"
#: Names starting with this are aufs metadata, never content (Docker skips them too).
META_PREFIX = b".wh..wh."

OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")
XATTR_OPAQUE = "trusted.overlay.opaque"
XATTR_WHITEOUT = "trusted.overlay.whiteout"
XATTR_OPAQUE_USER = "user.overlay.opaque"


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
        if is_overlay_xattr(name) and name.endswith(".overlay.opaque"):
            return _getxattr(path, name) == b"y"
    return False


def make_whiteout(path: bytes, uid: int = 0, gid: int = 0) -> None:
    """Create the overlayfs whiteout for ``path`` (a 0/0 character device); ``path`` must not exist."""
    os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))
    os.chown(path, uid, gid, follow_symlinks=False)


def opaque_xattr() -> str:
    """The opaque marker overlayfs reads here: ``user.overlay.opaque`` in a user namespace (mounts with
    ``userxattr``, and ``trusted.`` xattrs cannot be set there), else ``trusted.overlay.opaque``."""
    from builder.rootless.detect import in_user_namespace

    return XATTR_OPAQUE_USER if in_user_namespace() else XATTR_OPAQUE


def mark_opaque(path: bytes) -> None:
    """Mark the directory at ``path`` opaque for overlayfs (with the xattr `opaque_xattr` names)."""
    os.setxattr(path, opaque_xattr(), b"y", follow_symlinks=False)
