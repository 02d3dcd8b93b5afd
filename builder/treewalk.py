"""A bottom-up walk of a directory tree that does not recurse (a leaf module).

Python 3.11's ``os.walk`` recurses once per level, so a tree nested deeper than the interpreter's recursion
limit (a hostile context, a layer made from one) raises RecursionError; this walk keeps a stack of open
listings instead and is safe at any depth.
"""

from __future__ import annotations

import os
from collections.abc import Iterator


def walk_bottom_up(top: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """``(directory, subdirectory names, other names)`` for ``top`` and every directory below it, each
    directory after all of its subdirectories (``os.walk(top, topdown=False)``'s order of visits). Symbolic
    links to directories are listed as other names and not followed. Entries may be changed as they are
    yielded; a directory that vanishes before it is listed is skipped."""
    stack: list[tuple[str, list[str], list[str], Iterator[str]]] = []

    def opened(directory: str) -> tuple[str, list[str], list[str], Iterator[str]] | None:
        try:
            with os.scandir(directory) as entries:
                dirs, others = [], []
                for entry in entries:
                    (dirs if entry.is_dir(follow_symlinks=False) else others).append(entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return directory, dirs, others, iter(list(dirs))

    first = opened(top)
    if first is not None:
        stack.append(first)
    while stack:
        directory, dirs, others, pending = stack[-1]
        name = next(pending, None)
        if name is None:
            stack.pop()
            yield directory, dirs, others
            continue
        child = opened(os.path.join(directory, name))
        if child is not None:
            stack.append(child)


def make_parents(path: str | os.PathLike) -> None:
    """``os.makedirs(path, exist_ok=True)`` without recursion (it recurses once per missing level, as
    ``Path.mkdir(parents=True)`` does): the missing directories are made from the top down."""
    missing = []
    current = os.fspath(path)
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise
