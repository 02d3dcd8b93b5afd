"""The build context's ignore file (``.dockerignore``) with Docker's semantics, not gitignore's.

Reading follows moby/patternmatcher's ``ignorefile.ReadAll``; matching follows its ``PatternMatcher``:
patterns apply in order, an ``!`` pattern re-includes, the last pattern that matches wins, and a path is
excluded when it or one of its parent directories matches. ``*.log`` matches only at the context root,
``**`` spans directories, and leading or trailing slashes do not matter.

Each pattern is a :class:`pathspec.RegexPattern` whose regex comes from Docker's rules
(:mod:`builder.context.gopattern`), so the rules can also be used as a :class:`pathspec.PathSpec` (with its
``backend="simple"``: its RE2 backend reads the regex text and skips each pattern's ``match_file``). pathspec
(~40 ms to import) is imported only when there is a pattern to compile: a context without an ignore file
never pays for it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from builder.context.gopattern import PatternSyntaxError
from builder.errors import Span, SyntaxProblem

if TYPE_CHECKING:
    from builder.context.pattern import DockerIgnorePattern

#: Result of matching a directory, handed to its children so they need not re-check their parents.
MatchInfo = tuple[bool, ...]

# Go's bufio.Scanner gives up on a line longer than this.
_MAX_LINE_BYTES = 64 * 1024
# Characters that make an exception pattern a wildcard one, which stops the walk from pruning (fsutil).
_WILDCARD_CHARS = frozenset("*[]?^\\")


def __getattr__(name: str):
    if name == "DockerIgnorePattern":  # kept importable from here; it lives beside pathspec's import
        from builder.context.pattern import DockerIgnorePattern

        return DockerIgnorePattern
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class IgnoreFileError(SyntaxProblem):
    """The ignore file holds a pattern Docker rejects."""


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` for slash-separated paths (unlike ``normpath``, ``//a`` becomes ``/a``)."""
    if not path:
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def _go_dir(path: str) -> str:
    return go_clean(path[: path.rfind("/") + 1])


def _read_lines(text: str) -> list[tuple[int, str]]:
    """(line number, pattern) for each pattern in an ignore file, as ``ignorefile.ReadAll`` reads it."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line; it does not start another
    patterns = []
    for number, raw in enumerate(lines, start=1):
        line = raw.removesuffix("\r")
        if len(line.encode("utf-8", "surrogateescape")) > _MAX_LINE_BYTES:
            raise IgnoreFileError("error reading .dockerignore: bufio.Scanner: token too long")
        if line.startswith("#"):
            continue  # a comment only at column 0: " # x" is a pattern
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append((number, "!" + pattern if invert else pattern))
    return patterns


def read_ignore_file(text: str) -> list[str]:
    """The patterns of an ignore file's text, in order, ``!`` kept on exceptions.

    ``#`` starts a comment only at column 0; lines are trimmed and blank ones dropped; each pattern is
    cleaned like a path and loses one leading ``/``; a UTF-8 byte-order mark is ignored.
    """
    return [pattern for _, pattern in _read_lines(text)]


def _compile(pattern: str, exception: bool) -> DockerIgnorePattern:
    from builder.context.pattern import DockerIgnorePattern

    return DockerIgnorePattern(pattern, exception)


def _strip_trailing_glob(pattern: str) -> str:
    return pattern.removesuffix("/**").removesuffix("/*")


class IgnoreRules:
    """Compiled ignore patterns (as ``read_ignore_file`` returns them, or as given to patternmatcher.New).

    Patterns are trimmed and cleaned here too, so ``docs/`` and ``docs`` are the same. A malformed pattern
    raises :class:`IgnoreFileError` naming it, when the rules are built rather than on first use.
    """

    def __init__(
        self, patterns: Iterable[str], *, source: str | None = None, lines: Sequence[int] = ()
    ) -> None:
        self.patterns: list[DockerIgnorePattern] = []
        for index, raw in enumerate(patterns):
            text = raw.strip()
            if not text:
                continue
            text = go_clean(text)
            exception = text.startswith("!")
            span = Span(source, lines[index]) if source is not None and index < len(lines) else None
            if text == "!":
                raise IgnoreFileError('illegal exclusion pattern: "!"', span)
            try:
                self.patterns.append(_compile(text[1:] if exception else text, exception))
            except PatternSyntaxError as error:
                raise IgnoreFileError(f'bad ignore pattern "{raw.strip()}": {error}', span) from None
        self.has_exceptions = any(not p.include for p in self.patterns)
        self._prefix_exceptions_only = not any(
            _WILDCARD_CHARS.intersection(_strip_trailing_glob(p.pattern))
            for p in self.patterns
            if not p.include
        )
        self._exception_dirs = [_strip_trailing_glob(p.pattern) + "/" for p in self.patterns if not p.include]

    @classmethod
    def from_file(cls, path: str | Path) -> IgnoreRules:
        """Read and compile an ignore file; an error points at the file and line of the bad pattern."""
        numbered = _read_lines(Path(path).read_text(encoding="utf-8", errors="surrogateescape"))
        return cls([p for _, p in numbered], source=str(path), lines=[n for n, _ in numbered])

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def excludes(self, path: str) -> bool:
        """Whether ``path`` (relative to the context, slash-separated) is left out of the context.

        patternmatcher's MatchesOrParentMatches: a pattern matches a path or any of its parent directories.
        The context root itself (``.``) is never excluded. What BuildKit sends can differ in rare orderings
        (the walk hands each directory's result down, see :meth:`match_with_parent`); :func:`walk_context`
        follows the walk, so use it to decide what a build sees.
        """
        path = go_clean(path)
        if path == ".":
            return False
        parent = _go_dir(path)
        parents: list[str] = []
        if parent != ".":
            parts = parent.split("/")
            parents = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        matched = False
        for pattern in self.patterns:
            exception = not pattern.include
            if exception != matched:
                continue  # cannot change the outcome: an exclusion when excluded, an exception when not
            if pattern.match_file(path) or any(pattern.match_file(p) for p in parents):
                matched = not exception
        return matched

    def match_with_parent(self, path: str, parent: MatchInfo | None) -> tuple[bool, MatchInfo]:
        """Whether ``path`` is excluded, given the info its parent directory's call returned.

        For a walk: call with ``None`` for entries at the context root, and with the parent directory's
        returned info below it; each path is then checked against each pattern once, not once per parent
        (patternmatcher's MatchesUsingParentResults). ``path`` must already be clean.
        """
        matched = False
        info: list[bool] = []
        for index, pattern in enumerate(self.patterns):
            match = parent[index] if parent else False
            exception = not pattern.include
            if not match:
                if exception != matched:
                    info.append(False)
                    continue
                match = bool(pattern.match_file(path))
                if not match and not parent:
                    directory = _go_dir(path)
                    if directory != ".":
                        parts = directory.split("/")
                        match = any(pattern.match_file("/".join(parts[: i + 1])) for i in range(len(parts)))
            info.append(match)
            if match:
                matched = not exception
        return matched, tuple(info)

    def may_include_below(self, directory: str) -> bool:
        """Whether an exception could re-include something under the excluded ``directory``.

        As BuildKit's file sender decides it: any wildcard exception means yes; otherwise only an exception
        naming a path inside the directory does. When this is False a walk need not open the directory.
        """
        if not self.has_exceptions:
            return False
        if not self._prefix_exceptions_only:
            return True
        prefix = directory + "/"
        return any(candidate.startswith(prefix) for candidate in self._exception_dirs)


def find_ignore_file(context_dir: str | Path, buildfile_path: str | Path | None) -> Path | None:
    """The ignore file for a build: ``<Buildfile>.dockerignore`` beside the Buildfile if it exists, else
    ``<context>/.dockerignore`` if it exists, else None. Pass ``None`` for a Buildfile read from stdin.
    """
    if buildfile_path is not None:
        buildfile = Path(buildfile_path)
        specific = buildfile.with_name(buildfile.name + ".dockerignore")
        if specific.is_file():
            return specific
    default = Path(context_dir) / ".dockerignore"
    return default if default.is_file() else None
