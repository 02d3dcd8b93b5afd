"""COPY and ADD: choosing the sources, placing them at the destination, and the history text.

The executor mounts the parent's layers (overlay, upperdir = the new layer) and calls `copy_into` with the
merged root; everything written there lands in the step's layer. Sources come from a directory: the build
context, or the root filesystem of another stage or image (``--from``).

Rules, as BuildKit applies them:

* a source is a path relative to the source root (a leading ``/`` is the same root); ``..`` cannot leave it;
  it may hold wildcards (``*``, ``?``, ``[...]``), matched segment by segment;
* the destination is a directory when it ends in ``/``, when several sources (or a wildcard) are given, or
  when it already exists as a directory; a relative destination is joined to WORKDIR; missing parents are
  created (0755);
* a source directory contributes its contents, not itself; a source file keeps its name inside a directory
  destination; symlinks inside copied trees stay symlinks; a symlink named as a source is followed;
* owners become 0:0 unless ``--chown`` says otherwise; modes are kept unless ``--chmod`` says otherwise;
  modification times are kept.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuildError

_WILDCARD = set("*?[")


def history_text(keyword: str, sources: list[str], dest: str) -> str:
    """``COPY src… dest # buildkit`` — BuildKit records neither flags nor heredoc bodies."""
    return f"{keyword} {' '.join([*sources, dest])} # buildkit"


@dataclass(frozen=True)
class Ownership:
    """What copied entries are owned by and, with ``--chmod``, their mode."""

    uid: int = 0
    gid: int = 0
    mode: int | None = None


def has_wildcard(pattern: str) -> bool:
    return any(ch in _WILDCARD for ch in pattern)


def _clean(pattern: str) -> str:
    cleaned = posixpath.normpath("/" + pattern).lstrip("/")
    return "" if cleaned == "." else cleaned


def select_sources(
    root: Path, pattern: str, *, excluded: Callable[[str], bool] | None = None
) -> list[tuple[str, Path]]:
    """The entries ``pattern`` names under ``root`` as ``(relative path, host path)`` pairs, sorted.

    Raises BuildError when nothing matches (BuildKit: ``"/x": not found``). ``excluded(relpath)`` hides
    entries (the ignore file for the context).
    """
    relative = _clean(pattern)
    parts = relative.split("/") if relative else []
    matches = [("", root)]
    for part in parts:
        next_matches = []
        for rel, path in matches:
            if has_wildcard(part):
                try:
                    names = sorted(os.listdir(path))
                except (NotADirectoryError, FileNotFoundError):
                    continue
                chosen = [n for n in names if fnmatch.fnmatchcase(n, part)]
            else:
                chosen = [part]
            for name in chosen:
                child_rel = f"{rel}/{name}" if rel else name
                child = path / name
                if os.path.lexists(child) and not (excluded and excluded(child_rel)):
                    next_matches.append((child_rel, child))
        matches = next_matches
    if not matches:
        raise BuildError(f'failed to compute cache key: "/{relative}": not found')
    return matches


def _inside(root: Path, path: str) -> Path:
    """``path`` (absolute, in the container) under ``root``, resolving symlinks inside the root only."""
    current = root
    for part in [p for p in path.split("/") if p]:
        candidate = current / part
        hops = 0
        while candidate.is_symlink() and hops < 40:
            target = os.readlink(candidate)
            base = root if target.startswith("/") else current
            resolved = posixpath.normpath(posixpath.join("/" + str(base.relative_to(root)), target))
            candidate = root / resolved.lstrip("/")
            hops += 1
        current = candidate
    return current


def make_dirs(root: Path, path: str, owner: Ownership) -> Path:
    """Create the directories of ``path`` that are missing (0755, owned by ``owner``); return the host path."""
    current = root
    for part in [p for p in path.split("/") if p]:
        current = _inside(root, str((current / part).relative_to(root)))
        if not os.path.lexists(current):
            os.mkdir(current, 0o755)
            os.chown(current, owner.uid, owner.gid)
        elif not current.is_dir():
            raise BuildError(f"cannot copy to {path}: /{current.relative_to(root)} is not a directory")
    return current


def _apply_meta(path: Path, source_stat: os.stat_result, owner: Ownership) -> None:
    os.lchown(path, owner.uid, owner.gid)
    if not stat.S_ISLNK(source_stat.st_mode):
        mode = owner.mode if owner.mode is not None else stat.S_IMODE(source_stat.st_mode)
        os.chmod(path, mode)
    os.utime(path, ns=(source_stat.st_atime_ns, source_stat.st_mtime_ns), follow_symlinks=False)


Excluder = Callable[[str], bool] | None


def _copy_entry(
    source: Path, target: Path, owner: Ownership, *, follow: bool, rel: str, skip: Excluder
) -> None:
    """Copy one entry (recursively for a directory), replacing what ``target`` was unless both are dirs.
    ``rel`` is the entry's path in the source root, checked against ``skip`` (the ignore rules)."""
    st = os.stat(source) if follow else os.lstat(source)
    if os.path.lexists(target) and not (stat.S_ISDIR(st.st_mode) and target.is_dir()):
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    if stat.S_ISDIR(st.st_mode):
        if not target.is_dir():
            os.mkdir(target, 0o755)
        for name in sorted(os.listdir(source)):
            child = f"{rel}/{name}" if rel else name
            if not (skip and skip(child)):
                _copy_entry(source / name, target / name, owner, follow=False, rel=child, skip=skip)
    elif stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), target)
    elif stat.S_ISREG(st.st_mode):
        with open(source, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    else:
        return  # sockets, fifos and devices in a context are not copied, as BuildKit does
    _apply_meta(target, st, owner)


def copy_into(
    merged: Path,
    sources: list[tuple[str, Path]],
    dest: str,
    *,
    workdir: str,
    owner: Ownership,
    force_dir: bool,
    excluded: Excluder = None,
) -> None:
    """Copy the selected ``sources`` to ``dest`` inside the mounted root ``merged``.

    ``force_dir`` is True when the destination must be a directory (several sources or a wildcard).
    """
    absolute = dest if dest.startswith("/") else posixpath.join(workdir or "/", dest)
    dest_is_dir = force_dir or dest.endswith("/") or dest in (".", "") or _inside(merged, absolute).is_dir()
    normalized = posixpath.normpath(absolute)
    if dest_is_dir:
        target_dir = make_dirs(merged, normalized, owner)
        for rel, path in sources:
            if path.is_dir():  # a directory contributes its contents; the destination keeps its metadata
                for name in sorted(os.listdir(path)):
                    child = f"{rel}/{name}" if rel else name
                    if not (excluded and excluded(child)):
                        _copy_entry(
                            path / name, target_dir / name, owner, follow=False, rel=child, skip=excluded
                        )
            else:
                name = posixpath.basename(rel or path.name)
                _copy_entry(path, target_dir / name, owner, follow=True, rel=rel, skip=excluded)
        return
    parent = make_dirs(merged, posixpath.dirname(normalized), owner)
    rel, path = sources[0]
    _copy_entry(path, parent / posixpath.basename(normalized), owner, follow=True, rel=rel, skip=excluded)
