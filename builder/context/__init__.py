"""The build context: which files a build may see.

* :func:`find_ignore_file` picks the ignore file (``<Buildfile>.dockerignore`` beside the Buildfile wins over
  ``<context>/.dockerignore``);
* :func:`read_ignore_file` and :class:`IgnoreRules` read and apply it with Docker's semantics;
* :func:`walk_context` lists the context through the rules without following symlinks.
"""

from __future__ import annotations

from builder.context.ignore import (
    IgnoreFileError,
    IgnoreRules,
    MatchInfo,
    find_ignore_file,
    go_clean,
    read_ignore_file,
)
from builder.context.walk import walk_context


def __getattr__(name: str):
    if name == "DockerIgnorePattern":  # imports pathspec: only on demand
        from builder.context.pattern import DockerIgnorePattern

        return DockerIgnorePattern
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DockerIgnorePattern",
    "IgnoreFileError",
    "IgnoreRules",
    "MatchInfo",
    "find_ignore_file",
    "go_clean",
    "read_ignore_file",
    "walk_context",
]
