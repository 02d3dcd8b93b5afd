"""Safe placement of tar entries under a target directory.

Every name is checked as text first (no absolute names, no ``..``), then on disk: each directory on the way
to an entry must be a real directory, never a symlink, so nothing is ever written, linked or deleted through
a symlink. The applier is the only writer of its target, so checking with lstat right before each
operation is enough; the final component is always handled with no-follow calls.
"""

from __future__ import annotations

import os
import shutil
import stat

from builder.layer.errors import LayerError


def _show(name: bytes) -> str:
    return os.fsdecode(name)


def clean_name(name: bytes, what: str = "entry") -> bytes:
    """``name`` relative to the target with ``.`` and empty components dropped; ``b""`` is the root.

    Raises LayerError for an absolute name, a ``..`` component or a NUL byte.
    """
    shown = os.fsdecode(name)
    if name.startswith(b"/"):
        raise LayerError(f"layer {what} {shown!r} is an absolute path; refusing to write outside the target")
    if b"\0" in name:
        raise LayerError(f"layer {what} {shown!r} contains a NUL byte")
    parts = [p for p in name.split(b"/") if p not in (b"", b".")]
    if b".." in parts:
        raise LayerError(f"layer {what} {shown!r} contains '..'; refusing to write outside the target")
    return b"/".join(parts)


class Target:
    """The target directory of an apply, with the bookkeeping that keeps writes inside it."""

    def __init__(self, root: bytes) -> None:
        self.root = root
        self._checked: set[bytes] = set()  # relative paths known to be real directories

    def path(self, rel: bytes) -> bytes:
        return self.root + b"/" + rel if rel else self.root

    def lstat(self, rel: bytes) -> os.stat_result | None:
        try:
            return os.lstat(self.path(rel))
        except FileNotFoundError:
            return None

    def parent(self, rel: bytes, *, create: bool, on_create=None) -> bytes:
        """Check (and with ``create``, make) every directory above ``rel``; return ``rel``'s absolute path.

        A missing directory is created 0755 root:root and reported to ``on_create(rel_dir)``; without
        ``create`` it raises LayerError. A symlink or non-directory on the way raises LayerError.
        """
        parts = rel.split(b"/")[:-1]
        for i in range(len(parts)):
            prefix = b"/".join(parts[: i + 1])
            if prefix in self._checked:
                continue
            st = self.lstat(prefix)
            if st is None:
                if not create:
                    raise LayerError(f"layer entry {_show(rel)!r}: {_show(prefix)!r} does not exist")
                os.mkdir(self.path(prefix), 0o755)
                if on_create is not None:
                    on_create(prefix)
            elif stat.S_ISLNK(st.st_mode):
                raise LayerError(
                    f"layer entry {os.fsdecode(rel)!r} goes through the symlink {os.fsdecode(prefix)!r}; "
                    "refusing to write through a symlink"
                )
            elif not stat.S_ISDIR(st.st_mode):
                raise LayerError(f"layer entry {_show(rel)!r}: {_show(prefix)!r} is not a directory")
            self._checked.add(prefix)
        return self.path(rel)

    def remove(self, rel: bytes, st: os.stat_result) -> None:
        """Remove what is at ``rel`` (lstat'ed as ``st``): a whole tree for a real directory, never following
        a symlink."""
        path = self.path(rel)
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
            self._checked.clear()  # directories under it are gone; recheck everything from now on
        else:
            os.unlink(path)
