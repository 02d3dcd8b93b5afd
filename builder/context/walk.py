"""Walking a build context through its ignore rules, the way BuildKit's file sender (fsutil) walks it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from builder.context.ignore import IgnoreRules, MatchInfo
from builder.errors import BuildError


@dataclass(slots=True)
class _Dir:
    """A directory being walked; ``shown`` once it has been yielded (excluded ones wait for a child)."""

    rel: str
    stat: os.stat_result | None
    info: MatchInfo | None
    shown: bool
    entries: Iterator[os.DirEntry[str]] = field(default_factory=lambda: iter(()))


def _entries(path: str) -> Iterator[os.DirEntry[str]]:
    with os.scandir(path) as listing:
        # Go's WalkDir visits names in byte order, which is code point order for str names.
        return iter(sorted(listing, key=lambda entry: entry.name))


def walk_context(
    root: str | os.PathLike[str], rules: IgnoreRules | None = None
) -> Iterator[tuple[str, os.stat_result]]:
    """Yield ``(relative path, lstat result)`` for everything in the context that the rules keep.

    Paths are slash-separated and relative to ``root``; a directory comes before its contents and names
    within a directory in byte order. Symlinks are reported as links and never followed. An excluded
    directory is not opened unless an exception pattern might re-include something below it; if it is and
    something is, the directory itself is reported too (just before that entry), as BuildKit sends it.
    An unreadable directory that is excluded anyway is skipped; any other unreadable one is an error.
    """
    base = os.fspath(root)
    try:
        top = _Dir("", None, None, True, _entries(base))
    except OSError as error:
        raise BuildError(f"cannot read the build context {base}: {error.strerror}") from None
    stack = [top]
    while stack:
        current = stack[-1]
        entry = next(current.entries, None)
        if entry is None:
            stack.pop()
            continue
        rel = current.rel + "/" + entry.name if current.rel else entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        excluded, info = rules.match_with_parent(rel, current.info) if rules else (False, None)
        if excluded and is_dir and not rules.may_include_below(rel):  # type: ignore[union-attr]
            continue
        stat = entry.stat(follow_symlinks=False)
        if not excluded:
            for ancestor in stack[1:]:
                if not ancestor.shown:
                    ancestor.shown = True
                    yield ancestor.rel, ancestor.stat  # type: ignore[misc]
            yield rel, stat
        if is_dir:
            try:
                children = _entries(entry.path)
            except OSError as error:
                if excluded and isinstance(error, PermissionError):
                    continue
                raise BuildError(f"cannot read {rel} in the build context: {error.strerror}") from None
            stack.append(_Dir(rel, stat, info, not excluded, children))
