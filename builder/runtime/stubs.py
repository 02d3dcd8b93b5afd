"""Mountpoints the runtime creates for bind mounts, and their removal afterwards (BuildKit's stub cleaner).

runc creates a missing mount destination (an empty file for a file bind mount, a directory otherwise, and
any missing parents) in the rootfs, so in the step's upperdir. Like BuildKit, the runtime notes which of
the destinations ``/etc/resolv.conf``, ``/etc/hosts`` and the extra mounts' did not exist before the step,
and afterwards removes each one that is still an empty file or an empty directory, innermost first, keeping
the timestamps its parent directory had just before. The standard mounts (/proc, /dev, /sys) are not
stubs: as with BuildKit, a base without those directories gains them in the first step's layer.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from .paths import resolve_in_root


def record_stubs(rootfs: Path, destinations: Iterable[str]) -> list[Path]:
    """Host paths under ``rootfs`` that running the container may create: each destination that does not
    exist yet, followed by its missing ancestors (innermost first)."""
    stubs: list[Path] = []
    for destination in destinations:
        if os.path.normpath("/" + destination) == "/":
            continue
        try:
            path = resolve_in_root(rootfs, destination)
        except OSError:
            continue
        while path != rootfs:
            try:
                os.lstat(path)
                break
            except OSError as error:
                if error.errno not in (errno.ENOENT, errno.ENOTDIR):
                    break
            stubs.append(path)
            path = path.parent
    return stubs


def remove_stubs(rootfs: Path, stubs: Iterable[Path]) -> None:
    """Remove the stubs that are still empty; the rootfs must still be mounted (removal goes through it).

    Paths are checked again against ``rootfs`` first: the step may have replaced a parent with a symlink.
    """
    real_root = os.path.realpath(rootfs)
    for stub in stubs:
        parent = os.path.realpath(stub.parent)
        if parent != real_root and not parent.startswith(real_root + "/"):
            continue
        path = os.path.join(parent, stub.name)
        try:
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                if os.listdir(path):
                    continue
            elif st.st_size != 0:
                continue
            parent_st = os.stat(parent)
        except OSError:
            continue
        try:
            if stat.S_ISDIR(st.st_mode):
                os.rmdir(path)
            else:
                os.unlink(path)
        except OSError:
            continue
        # Creating and removing the stub changed the parent's times; restore them.
        os.utime(parent, ns=(parent_st.st_atime_ns, parent_st.st_mtime_ns), follow_symlinks=False)
