"""Where things are in a Buildfile: its physical lines, and the map from a joined logical line back to them.

A logical line is an instruction with its continuation lines joined; errors found in one of its tokens must
still point at the physical line and column the user wrote, which is what `LogicalLine.span` gives.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from builder.errors import Span, SyntaxProblem


@dataclass(frozen=True)
class Source:
    """The file being parsed: its name and its physical lines (no line endings, no byte order mark)."""

    path: str
    lines: tuple[str, ...]

    def span(self, line: int, column: int = 1, end_line: int | None = None) -> Span:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return Span(self.path, line, column, end_line, text)


@dataclass
class LogicalLine:
    """One instruction's text with continuations joined, and the map back to physical positions.

    ``segments`` holds (offset in ``text``, physical line, column of that offset), one per joined piece.
    """

    text: str
    source: Source
    start_line: int
    end_line: int
    segments: list[tuple[int, int, int]] = field(default_factory=list)

    def position(self, offset: int) -> tuple[int, int]:
        """The (line, column) where character ``offset`` of ``text`` was written (1-based)."""
        i = max(bisect.bisect_right(self.segments, (offset, float("inf"), 0)) - 1, 0)
        start, line, column = self.segments[i]
        return line, column + max(offset - start, 0)

    def span(self, offset: int, end_line: int | None = None) -> Span:
        line, column = self.position(offset)
        return self.source.span(line, column, end_line)

    def error(self, message: str, offset: int, hint: str | None = None) -> SyntaxProblem:
        return SyntaxProblem(message, self.span(offset), hint=hint)
