"""Paths of an image's filesystem resolved on the host, never leaving the image's root (a leaf module).

One resolver serves every place that maps an image path to a host path: COPY/ADD sources and destinations,
WORKDIR, ADD archive members and downloads, USER's passwd lookup, RUN's working directory and mounts. It
resolves lexically inside ``root``, as BuildKit's ``fs.RootPath`` does:

* a symlink's absolute target is taken from ``root``, a relative one from the link's directory;
* ``..`` never climbs above ``root``;
* a component that does not exist is kept as written, and the walk goes on after it (so a later ``..``
  removes it again) — a dangling link therefore leads to a path *inside* the root, never to the host's;
* more than 255 links on the way is an ELOOP error.

Every component of a resolved path that exists is a real directory or the final entry, never a symlink, so
creating the missing ones with ``mkdir`` and opening the last one with ``O_NOFOLLOW`` cannot leave the root.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

MAX_LINKS = 255


def follow(
    root: Path,
    path: str,
    *,
    visible: Callable[[str], bool] | None = None,
    strict: bool = False,
    escape: Callable[[str | None, str | None], None] | None = None,
) -> tuple[list[str], list[str]]:
    """Resolve ``path`` (image path, absolute or not) inside ``root``: ``(resolved, rest)``.

    ``resolved`` are the components reached (each existing one a real directory, or the last entry).
    ``visible(rel)`` hides entries that exist on disk (an ignore file); a hidden entry counts as missing.
    With ``strict`` the walk stops at the first missing component and ``rest`` holds it and what was still
    to walk (with link targets spliced in); otherwise ``rest`` is empty and missing components are kept in
    ``resolved`` as written. Raises OSError(ELOOP) after `MAX_LINKS` links.

    ``escape(link, target)`` is called where the walk would leave the root — a ``..`` above it (``link``
    and ``target`` then name the last symlink followed, or are None when the path's own ``..`` climbs),
    or a symlink ``link`` (relative to the root) with an absolute ``target`` — before it is clamped; a
    caller for whom the root has an outside (the build context) raises there.
    """
    pending = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    via: tuple[str | None, str | None] = (None, None)  # the last symlink followed: whom a climb is due to
    links = 0
    while pending:
        name = pending.pop(0)
        if name == "..":
            if resolved:
                resolved.pop()
            elif escape is not None:
                escape(*via)
            continue
        rel = "/".join([*resolved, name])
        st = None
        if visible is None or visible(rel):
            with suppress(FileNotFoundError, NotADirectoryError):
                st = os.lstat(root.joinpath(*resolved, name))
        if st is None:
            if strict:
                return resolved, [name, *pending]
            resolved.append(name)  # below a missing entry everything is missing: kept as written
            continue
        if not stat.S_ISLNK(st.st_mode):
            resolved.append(name)
            continue
        links += 1
        if links > MAX_LINKS:
            raise OSError(errno.ELOOP, "too many levels of symbolic links", "/" + path.lstrip("/"))
        target = os.readlink(root.joinpath(*resolved, name))
        if target.startswith("/"):
            if escape is not None:
                escape(rel, target)
            resolved = []
        via = (rel, target)
        pending = [p for p in target.split("/") if p not in ("", ".")] + pending
    return resolved, []


def resolve_in_root(root: Path, path: str) -> Path:
    """The host path of image path ``path`` under ``root`` (see the module docstring); always inside
    ``root``, usable for creating what is missing. Raises OSError(ELOOP) on a symlink loop."""
    return root.joinpath(*follow(root, path)[0])


def relative(root: Path, host: Path) -> str:
    """``host`` (a path `resolve_in_root` gave) as an absolute image path."""
    rel = os.path.relpath(host, root)
    return "/" if rel == "." else "/" + rel


def ensure_inside(root: Path, host: Path) -> None:
    """Refuse ``host`` unless its parent directory, followed on the host, is inside ``root``: a write there
    cannot pass through a symlink to outside. Raises PermissionError (EXDEV-like: names the path)."""
    real_root = os.path.realpath(root)
    if os.path.abspath(host) == os.path.abspath(root):
        return  # the root itself (``COPY f /``): nothing above it is written
    parent = os.path.realpath(host.parent)
    if parent != real_root and not parent.startswith(real_root.rstrip("/") + "/"):
        raise PermissionError(errno.EPERM, "path leads outside the image root", str(host))


def create_file(host: Path, mode: int = 0o600) -> int:
    """Create ``host`` (which must not exist) for writing without following a symlink there; the fd."""
    return os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
