"""Resolving container paths inside a rootfs on the host, never escaping it."""

from __future__ import annotations

import os
from pathlib import Path

_MAX_LINKS = 255


def resolve_in_root(root: Path, path: str) -> Path:
    """The host path of container path ``path`` under ``root``, following symlinks as the container would.

    Absolute link targets are taken relative to ``root`` and ``..`` never climbs above it, so the result is
    always inside ``root``. Components that do not exist are appended as written, which makes the result
    usable for creating them. Raises OSError(ELOOP) on a symlink loop.
    """
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while parts:
        name = parts.pop(0)
        if name == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, name)
        try:
            target = os.readlink(candidate)
        except OSError:
            # Not a symlink, or missing: either way it is taken as written.
            resolved.append(name)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(40, "too many levels of symbolic links", str(path))
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p not in ("", ".")] + parts
    return root.joinpath(*resolved)
