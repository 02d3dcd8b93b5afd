"""Content digests of COPY/ADD sources, for cache keys: what a copy would write, never when it was touched.

Each entry below a selected source contributes its relative path, type, permission bits, owner, and its
content digest (files) or link target (symlinks). Modification times are left out on purpose: touching a file
must not invalidate the cache, changing its content, mode or owner must.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(path: Path, st: os.stat_result) -> str:
    mode = stat.S_IMODE(st.st_mode)
    owner = f"{st.st_uid}:{st.st_gid}"
    if stat.S_ISDIR(st.st_mode):
        return f"dir {mode:o} {owner}"
    if stat.S_ISLNK(st.st_mode):
        return f"link {owner} {os.readlink(path)}"
    if stat.S_ISREG(st.st_mode):
        return f"file {mode:o} {owner} {_file_digest(path)}"
    return f"other {stat.S_IFMT(st.st_mode):o}"


def _walk(
    rel: str, path: Path, follow: bool, excluded: Callable[[str], bool] | None
) -> Iterator[tuple[str, str]]:
    st = os.stat(path) if follow else os.lstat(path)
    yield rel or ".", _describe(path, st)
    if stat.S_ISDIR(st.st_mode):
        for name in sorted(os.listdir(path)):
            child_rel = f"{rel}/{name}" if rel else name
            if excluded and excluded(child_rel):
                continue
            yield from _walk(child_rel, path / name, False, excluded)


def digest_sources(
    sources: list[tuple[str, Path]], *, excluded: Callable[[str], bool] | None = None
) -> dict[str, str]:
    """``{relative path: description}`` for every entry a copy of ``sources`` reads (a source symlink is
    followed, as the copy follows it)."""
    entries: dict[str, str] = {}
    for rel, path in sources:
        entries.update(_walk(rel, path, True, excluded))
    return entries
