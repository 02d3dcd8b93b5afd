"""Low-level mount helpers: unmounting and reading the mount table."""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

from builder.libc import last_errno, libc

_MNT_DETACH = 2


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mountpoints_under(directory: Path) -> list[Path]:
    """Mountpoints at or below ``directory`` in this process's mount namespace, deepest first."""
    prefix = os.path.realpath(directory)
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            point = _unescape(line.split(" ")[4])
            if point == prefix or point.startswith(prefix.rstrip("/") + "/"):
                found.append(Path(point))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def is_mountpoint(path: Path) -> bool:
    """Whether ``path`` is itself a mountpoint (per /proc/self/mountinfo)."""
    return Path(os.path.realpath(path)) in mountpoints_under(path)


def unmount(path: Path, *, attempts: int = 20) -> None:
    """Unmount ``path``; idempotent (a path that is not mounted is fine).

    A busy mount (a process still dying inside it) is retried for about a second and then detached lazily,
    so the caller never leaves a mount behind.
    """
    target = os.fsencode(os.path.realpath(path))
    for attempt in range(attempts):
        if libc().umount2(target, 0) == 0:
            continue  # stacked mounts: keep going until nothing is mounted here
        err = last_errno()
        if err in (errno.EINVAL, errno.ENOENT):
            return  # not (or no longer) a mountpoint
        if err != errno.EBUSY:
            raise OSError(err, f"umount {path}: {os.strerror(err)}")
        if attempt == attempts - 1:
            if libc().umount2(target, _MNT_DETACH) != 0:
                err = last_errno()
                if err not in (errno.EINVAL, errno.ENOENT):
                    raise OSError(err, f"umount -l {path}: {os.strerror(err)}")
            return
        time.sleep(0.05)
