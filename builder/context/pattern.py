"""One ``.dockerignore`` pattern as a :class:`pathspec.RegexPattern` with Docker's matching rules.

Kept apart from :mod:`builder.context.ignore` because importing pathspec costs ~40 ms: only a build whose
context has an ignore file compiles patterns, so only it imports this module.
"""

from __future__ import annotations

import re

from pathspec import RegexPattern

from builder.context.gopattern import EXACT, PREFIX, SUFFIX, compile_pattern


class DockerIgnorePattern(RegexPattern):
    """One ignore pattern with Docker's matching rules.

    ``include`` is pathspec's notion: True for a pattern that excludes paths from the context, False for an
    ``!`` exception. ``pattern`` is the cleaned pattern text without its ``!``.
    """

    __slots__ = ("kind", "_literal")

    def __init__(self, pattern: str, exception: bool) -> None:
        kind, regex = compile_pattern(pattern)
        # The exact, prefix and suffix kinds compare strings, as patternmatcher does; the regex given to
        # pathspec for them says the same thing.
        literal = {EXACT: pattern, PREFIX: pattern[:-2], SUFFIX: pattern[2:]}.get(kind, "")
        if regex is None:
            regex = re.compile(_literal_regex(kind, literal))
        super().__init__(regex, include=not exception)
        self.pattern = pattern
        self.kind = kind
        self._literal = literal

    def match_file(self, file: str) -> bool | None:  # type: ignore[override]
        """Whether ``file`` (slash-separated, relative) matches this pattern itself, parents aside."""
        kind, literal = self.kind, self._literal
        if kind == EXACT:
            matched = file == literal
        elif kind == PREFIX:
            matched = file.startswith(literal)
        elif kind == SUFFIX:
            matched = file.endswith(literal) or (literal.startswith("/") and file == literal[1:])
        else:
            matched = self.regex.search(file) is not None
        return True if matched else None


def _literal_regex(kind: str, literal: str) -> str:
    quoted = re.escape(literal)
    if kind == EXACT:
        return rf"\A{quoted}\Z"
    if kind == PREFIX:
        return rf"\A{quoted}"
    bare = rf"|\A{re.escape(literal[1:])}\Z" if literal.startswith("/") else ""
    return rf"{quoted}\Z{bare}"
