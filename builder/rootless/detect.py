"""Is this process in a user namespace? A leaf module: the runtime and the layer code ask it too.

Inside the namespace pybuild entered (see `builder.rootless.userns`) the process is uid 0, so the euid says
nothing; the uid map does. The initial namespace maps the whole id space onto itself (``0 0 4294967295``);
any other map means a user namespace, where overlayfs keeps its xattrs under ``user.overlay.`` (mounted with
``userxattr``), device nodes cannot be made, and runc cannot manage cgroups.
"""

from __future__ import annotations

from functools import cache

_WHOLE_MAP = [["0", "0", "4294967295"]]


@cache
def in_user_namespace() -> bool:
    """True when this process runs in a user namespace other than the initial one (cached: it cannot
    change for a process, since pybuild enters its namespace before anything else and then execs)."""
    try:
        with open("/proc/self/uid_map", encoding="ascii") as f:
            lines = [line.split() for line in f if line.strip()]
    except OSError:
        return False
    return lines != _WHOLE_MAP


def uid_map_lines() -> list[tuple[int, int, int]]:
    """This process's uid map as ``(inside, outside, count)`` lines (empty if unreadable)."""
    return _read_map("/proc/self/uid_map")


def gid_map_lines() -> list[tuple[int, int, int]]:
    """This process's gid map as ``(inside, outside, count)`` lines (empty if unreadable)."""
    return _read_map("/proc/self/gid_map")


def _read_map(path: str) -> list[tuple[int, int, int]]:
    try:
        with open(path, encoding="ascii") as f:
            return [(int(a), int(b), int(c)) for a, b, c in (line.split() for line in f if line.strip())]
    except (OSError, ValueError):
        return []
