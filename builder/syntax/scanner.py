"""The pre-pass: physical lines in, logical lines (with their heredoc bodies) out.

This is BuildKit's ``parser.Parse`` loop, line for line: the byte order mark, parser directives at the top
(``# syntax=``, ``# escape=``, ``# check=``), comment lines (only a ``#`` that starts a line, after
blanks), continuation lines ending in the escape character (blank and comment lines inside them are
skipped; a continuation line keeps its leading blanks), an escape at end of file, and heredoc bodies,
which are read after the instruction that names them, raw, up to their terminator line.

Each logical line remembers where every piece of it came from, so that an error found later in a token
of the joined line points at the physical line and column the user wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from builder.errors import Span, SyntaxProblem
from builder.gofmt import quote
from builder.syntax import heredoc as heredocs
from builder.syntax.gocompat import parse_bool, trim_left_space
from builder.syntax.nodes import RawHeredoc, RawNode, node_from_line
from builder.syntax.source import LogicalLine, Source

#: bufio.Scanner's limit: a physical line (newline excluded) of more bytes than this is an error.
MAX_LINE_BYTES = 65535
#: Directives BuildKit knows; any other ``# name=value`` ends the directive section like a comment.
DIRECTIVE_NAMES = ("syntax", "escape", "check")
_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")


@dataclass(frozen=True)
class DirectiveLine:
    name: str
    value: str
    span: Span


@dataclass
class ScanResult:
    """What the pre-pass found: the raw nodes in file order, with their heredoc bodies attached."""

    source: Source
    nodes: list[RawNode]
    directives: list[DirectiveLine]
    escape: str
    warnings: list[str]
    #: directive-shaped comments after the directive section (BuildKit reads them as plain comments)
    misplaced: list[DirectiveLine]


def _split_lines(text: str) -> list[str]:
    """bufio.Scanner with BuildKit's split function: lines keep their "\\n"; only "\\n" ends a line."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _is_comment(text: str) -> bool:
    return trim_left_space(text).startswith("#")


def _trim_continuation(text: str, escape: str) -> tuple[str, bool]:
    """Drop a trailing escape character (and blanks after it); True when the line does NOT continue.

    An escape preceded by another escape is a literal one (``foo\\\\``), as in BuildKit's regex.
    """
    stripped = text.rstrip(" \t")
    if stripped.endswith(escape) and (len(stripped) == 1 or stripped[-2] != escape):
        return stripped[:-1], False
    return text, True


def _check_line_length(raw: str, source: Source, line: int) -> None:
    body = raw.rstrip("\r\n")
    if len(body) > MAX_LINE_BYTES // 4 and len(body.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
        raise SyntaxProblem(
            f"dockerfile line greater than max allowed size of {MAX_LINE_BYTES}", source.span(line)
        )


def _check_directive_value(name: str, value: str, span: Span) -> None:
    if name == "escape" and value not in ("\\", "`"):
        raise SyntaxProblem(f"invalid escape token '{value}' does not match ` or \\", span)
    if name == "check":
        # BuildKit's linter options: skip=RULE,RULE|all ; error=BOOL ; experimental=RULE,...|all
        for part in value.split(";"):
            key, eq, option = part.partition("=")
            key = key.strip()
            if not eq or key not in ("skip", "error", "experimental"):
                raise SyntaxProblem(
                    f"invalid check option {quote(part)}", span, hint="use skip=, error= or experimental="
                )
            if key == "error":
                try:
                    parse_bool(option.strip())
                except ValueError:
                    raise SyntaxProblem(f"failed to parse check option {quote(part)}", span) from None


class _Directives:
    """BuildKit's DirectiveParser: directives count only before the first line that is not one."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.done = False
        self.found: list[DirectiveLine] = []
        self.misplaced: list[DirectiveLine] = []
        self.escape = "\\"

    @staticmethod
    def _match(line: str) -> tuple[str, str] | None:
        if not line.startswith("#"):
            return None
        match = _DIRECTIVE.match(trim_left_space(line[1:]))
        if match is None or match.group(1).lower() not in DIRECTIVE_NAMES:
            return None
        return match.group(1).lower(), match.group(2)

    def feed(self, line: str, number: int, column: int) -> bool:
        """Look at one left-trimmed physical line; True if it was a directive."""
        if self.done:
            return False
        match = self._match(line)
        if match is None:
            self.done = True
            return False
        name, value = match
        span = self.source.span(number, column)
        if any(d.name == name for d in self.found):
            raise SyntaxProblem(f"only one {name} parser directive can be used", span)
        _check_directive_value(name, value, span)
        self.found.append(DirectiveLine(name, value, span))
        if name == "escape":
            self.escape = value
        return True

    def comment(self, line: str, number: int, column: int) -> None:
        """A comment line after the directive section: remember it if it looks like a directive."""
        match = self._match(trim_left_space(line))
        if match is not None:
            self.misplaced.append(DirectiveLine(match[0], match[1], self.source.span(number, column)))


def scan(text: str, path: str) -> ScanResult:
    """Run the pre-pass over ``text``. Raises SyntaxProblem for what BuildKit's parser rejects."""
    raw_lines = _split_lines(text)
    if raw_lines:
        raw_lines[0] = raw_lines[0].removeprefix("\ufeff")
    source = Source(path, tuple(raw.rstrip("\r\n") for raw in raw_lines))
    directives = _Directives(source)
    nodes = []
    warnings: list[str] = []
    count = len(raw_lines)
    i = 0
    while i < count:
        raw = raw_lines[i]
        i += 1
        start_line = i
        _check_line_length(raw, source, i)
        content = raw.rstrip("\r\n")
        stripped = trim_left_space(content)
        lead = len(content) - len(stripped)
        if directives.feed(stripped, i, lead + 1):
            continue
        if _is_comment(stripped):
            directives.comment(stripped, i, lead + 1)
            continue
        escape = directives.escape
        buf, at_end = _trim_continuation(stripped, escape)
        if at_end and not buf:
            continue
        segments = [(0, i, lead + 1)]
        empty_continuation = False
        while not at_end and i < count:
            raw = raw_lines[i]
            i += 1
            _check_line_length(raw, source, i)
            content = raw.rstrip("\r\n")
            stripped = trim_left_space(content)
            if _is_comment(stripped):
                directives.comment(stripped, i, len(content) - len(stripped) + 1)
                continue
            if not stripped:
                empty_continuation = True
                continue
            piece, at_end = _trim_continuation(content, escape)
            segments.append((len(buf), i, 1))
            buf += piece
        if empty_continuation:
            warnings.append("Empty continuation line found in: " + buf)
        line = LogicalLine(buf, source, start_line, i, segments)
        node = node_from_line(line, escape)
        if node.can_contain_heredoc() and "<<" in buf:
            try:
                found = heredocs.find_markers(buf)
            except heredocs.LexError as error:
                raise line.error(str(error), node.offset) from None
            for marker in found:
                i = _read_heredoc_body(node, line, marker, raw_lines, i)
        node.start_line, node.end_line = start_line, i
        nodes.append(node)
    if not nodes:
        raise SyntaxProblem("file with no instructions", source.span(1), hint="a Buildfile needs a FROM")
    return ScanResult(source, nodes, directives.found, directives.escape, warnings, directives.misplaced)


def _read_heredoc_body(
    node: RawNode, line: LogicalLine, found: heredocs.FoundMarker, raw_lines: list[str], i: int
) -> int:
    """Read one heredoc body from line index ``i``; attach it to ``node``; return the next line index."""
    marker = found.marker
    body: list[str] = []
    while i < len(raw_lines):
        raw = raw_lines[i]
        i += 1
        _check_line_length(raw, line.source, i)
        candidate = raw.rstrip("\r\n")
        if marker.chomp:
            candidate = candidate.lstrip("\t")
        if candidate == marker.name:
            node.heredocs.append(RawHeredoc(marker, found.word, found.offset, "".join(body), i))
            return i
        body.append(raw)
    raise line.error(
        f"unterminated heredoc {marker.name}",
        found.offset,
        hint=f"end it with a line holding only {marker.name}",
    )
