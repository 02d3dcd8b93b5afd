"""What a stack of overlay-form layer directories shows, read without mounting them.

The rules are overlayfs' own: layers are listed top first; in a directory the topmost layer that has a name
decides it — a whiteout hides it, anything but a directory is that entry, and a directory merges with the
directories of that name in the layers below it, down to the first opaque one, and stopping at the first
layer where the name is a whiteout or not a directory. The fuse-overlayfs and copying overlay modes use this
to tell what a step changed from what was there (see `fuse` and `copydiff`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from builder.layer.whiteouts import is_opaque, is_whiteout


@dataclass
class Lower:
    """One entry of a merged directory: the topmost layer's copy (``path``, ``st``), and for a directory the
    same directory in each layer that contributes to it, top first (``dirs``)."""

    path: bytes
    st: os.stat_result
    dirs: list[bytes] | None = None


def listing(dirs: list[bytes]) -> dict[bytes, Lower]:
    """The merged content of one directory, given its copy in each contributing layer (top first)."""
    found: dict[bytes, Lower] = {}
    closed: set[bytes] = set()  # names decided for good: hidden, not a directory, or an opaque directory
    for directory in dirs:
        with os.scandir(directory) as it:
            for entry in it:
                name = entry.name
                if name in closed:
                    continue
                st = entry.stat(follow_symlinks=False)
                is_dir = stat.S_ISDIR(st.st_mode)
                merged = found.get(name)
                if merged is not None:
                    # a directory above: this layer's directory of that name joins it, anything else ends it
                    if is_dir:
                        merged.dirs.append(entry.path)
                        if is_opaque(entry.path):
                            closed.add(name)
                    else:
                        closed.add(name)
                    continue
                if is_whiteout(entry.path, st):
                    closed.add(name)
                    continue
                if is_dir:
                    found[name] = Lower(entry.path, st, [entry.path])
                    if is_opaque(entry.path):
                        closed.add(name)
                else:
                    found[name] = Lower(entry.path, st)
                    closed.add(name)
    return found


def lookup(layers: list[bytes], rel: bytes) -> os.stat_result | None:
    """What the merged ``layers`` (their roots, top first) show at ``rel`` (``b""``: the root), lstat'ed:
    the topmost copy's status, or None where nothing shows."""
    dirs = list(layers)
    found = None
    parts = [p for p in rel.split(b"/") if p]
    for index, part in enumerate(parts):
        below: list[bytes] = []
        found = None
        for directory in dirs:
            path = directory + b"/" + part
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if not stat.S_ISDIR(st.st_mode):
                if below or is_whiteout(path, st):
                    break  # hidden under a directory above, or deleted
                return st if index == len(parts) - 1 else None  # a file, which nothing can be below
            below.append(path)
            found = found or st
            if is_opaque(path):
                break
        if not below:
            return None
        dirs = below
    return found if parts else (os.lstat(layers[0]) if layers else None)
