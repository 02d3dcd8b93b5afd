"""The build context: which files a build may see.

* :func:`find_ignore_file` picks the ignore file (``<Buildfile>.dockerignore`` beside the Buildfile wins over
  ``<context>/.dockerignore``);
* :func:`read_ignore_file` and :class:`IgnoreRules` read and apply it with Docker's semantics;
* :func:`walk_context` lists the context through the rules without following symlinks.
"""

from __future__ import annotations

from builder.context.ignore import (
    DockerIgnorePattern,
    IgnoreFileError,
    IgnoreRules,
    MatchInfo,
    find_ignore_file,
    go_clean,
    read_ignore_file,
)
from builder.context.walk import walk_context

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
