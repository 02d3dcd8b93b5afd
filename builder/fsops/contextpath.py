"""Paths of the build context resolved on the host, refusing every path that leads out of it (a leaf module).

An image's root filesystem is a root: ``..`` stops at ``/`` and an absolute symlink names a path of the
image, so `builder.fsops.rootpath` resolves everything inside it. The build context is a directory of the host,
with an outside: a path that climbs above it (``../x``, ``a/../../x``) or goes through a symlink whose
target is absolute or climbs above it names something outside, and `follow` refuses it with `Outside`
rather than re-rooting it inside the context as BuildKit does (issue 9: a source that seems to work but
silently reads another file is worse than a clear error). Symlinks that stay inside are followed, the last
one included, so ``COPY link /x`` copies what ``link`` names in the context.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from builder.fsops import rootpath


class Outside(Exception):
    """``path`` leads out of the context: by climbing above it (``link`` is None), or through the symlink
    ``link`` (relative to the context) whose target ``target`` is absolute or climbs above the context."""

    def __init__(self, path: str, link: str | None = None, target: str | None = None) -> None:
        super().__init__(path)
        self.path = path
        self.link = link
        self.target = target


def climbs_above(path: str) -> bool:
    """Whether ``path``, taken as written (a leading ``/`` is the context's root), has a ``..`` that goes
    above the root: ``../x``, ``a/../../x``, ``/../x``. Symlinks are not looked at."""
    depth = 0
    for part in path.split("/"):
        if part == "..":
            if depth == 0:
                return True
            depth -= 1
        elif part not in ("", "."):
            depth += 1
    return False


def follow(
    root: Path, path: str, *, visible: Callable[[str], bool] | None = None
) -> tuple[list[str], list[str]]:
    """Resolve ``path`` inside the context at ``root``: ``(resolved, rest)`` as `builder.fsops.rootpath.follow`
    with ``strict`` gives them (``rest`` is empty unless a component is missing, or hidden by ``visible``).

    Raises `Outside` when the path climbs above ``root``, by its own ``..`` or through a symlink (then
    naming the last symlink followed), or meets a symlink with an absolute target; nothing outside ``root``
    is ever looked at. Raises OSError(ELOOP) after `rootpath.MAX_LINKS` links.
    """

    def refuse(link: str | None, target: str | None) -> None:
        raise Outside(path, link, target)

    return rootpath.follow(root, path, visible=visible, strict=True, escape=refuse)
