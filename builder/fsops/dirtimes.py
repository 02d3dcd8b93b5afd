"""Directory mtimes of a COPY/ADD layer, made a function of the step's inputs.

Writing an entry into a directory sets the directory's mtime to the wall clock, so a copy that ran twice
would make two different layers (and every step after it would run again). Once the copy is done (the mount
gone), `settle` gives each directory of the upperdir a time that depends on the inputs alone:

* a directory that is a copy of a source directory, or the destination a source directory's contents went
  into, or an archive's directory entry: the source's mtime, as BuildKit keeps it (recorded by the copy in
  ``Placement.dir_times``);
* a directory the parent layers already have, copied up because an entry was written in it: its mtime
  there — the copy does not make it newer (BuildKit gives it the wall clock);
* a directory the copy created on the way to its destination: the newest mtime of its entries in the layer
  (BuildKit: the wall clock), or 0 when it has none.

Heredoc files are written with mtime 0 for the same reason (BuildKit: the wall clock).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from builder.layer.whiteouts import is_opaque, is_whiteout
from builder.treewalk import walk_bottom_up


def settle(upper: Path, lowers: Sequence[Path], copied: Mapping[str, int]) -> None:
    """Set the mtime of every directory below ``upper`` (the step's upperdir, not mounted) by the rules
    above. ``lowers`` are the parent's layer directories, top first; ``copied`` maps a directory's path
    relative to ``upper`` to the source mtime (ns) the copy gave it. Idempotent."""
    top = os.fspath(upper)
    for directory, dirs, files in walk_bottom_up(top):
        if directory == top:
            continue  # the root is not an entry of the layer
        rel = os.path.relpath(directory, top)
        mtime = copied.get(rel)
        if mtime is None and not is_opaque(os.fsencode(directory)):
            mtime = _lower_mtime(lowers, rel)
        if mtime is None:
            mtime = _newest_entry(directory, dirs + files)
        st = os.lstat(directory)
        if st.st_mtime_ns != mtime:
            os.utime(directory, ns=(st.st_atime_ns, mtime), follow_symlinks=False)


def _lower_mtime(lowers: Sequence[Path], rel: str) -> int | None:
    """The mtime of directory ``rel`` in the topmost parent layer that has something there; None when that
    is no directory or no layer has it."""
    for lower in lowers:
        try:
            st = os.lstat(os.path.join(lower, rel))
        except (FileNotFoundError, NotADirectoryError):
            continue
        return st.st_mtime_ns if stat.S_ISDIR(st.st_mode) else None
    return None


def _newest_entry(directory: str, names: list[str]) -> int:
    newest = 0
    for name in names:
        path = os.path.join(directory, name)
        st = os.lstat(path)
        if not is_whiteout(os.fsencode(path), st):
            newest = max(newest, st.st_mtime_ns)
    return newest
