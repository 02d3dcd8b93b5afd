"""User-facing errors and the source locations they point at.

Every failure a user can cause (a bad Buildfile, a missing file, a RUN that exits non-zero) is raised as a
`BuildError`. The CLI renders it as ``FILE:LINE:COL: error: MESSAGE`` followed by the offending source line and
a caret, and exits with the error's ``exit_code``. Anything else that escapes is a bug in pybuild.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Exit code for input the front end rejects (syntax, planning, bad options).
EXIT_USAGE = 2
#: Exit code for a build that fails while running (a RUN exits non-zero, a file is missing, I/O fails).
EXIT_FAILURE = 1


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file. Lines and columns are 1-based; ``end_line`` is inclusive.

    ``source_line`` is the text of ``line`` as written (without its newline), kept so that an error can show
    the offending line without reopening the file (which may have been stdin).
    """

    file: str
    line: int
    column: int = 1
    end_line: int | None = None
    source_line: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class BuildError(Exception):
    """An error the user can fix, optionally located in a source file.

    ``hint`` is an extra line such as ``did you mean FROM?``. ``output_tail`` carries the last lines a failed
    process printed, shown under the message.
    """

    exit_code = EXIT_FAILURE

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        *,
        hint: str | None = None,
        output_tail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.output_tail = output_tail

    def with_span(self, span: Span) -> BuildError:
        """Attach ``span`` if the error has none yet; returns self so it can be re-raised."""
        if self.span is None:
            self.span = span
        return self

    def __str__(self) -> str:
        return f"{self.span}: error: {self.message}" if self.span else f"error: {self.message}"


class SyntaxProblem(BuildError):
    """The Buildfile (or a flag value, or a directive) is malformed: exit code 2."""

    exit_code = EXIT_USAGE


class PlanError(BuildError):
    """The Buildfile parses but cannot be planned (unknown stage, cycle, bad ARG use): exit code 2."""

    exit_code = EXIT_USAGE


class UsageError(BuildError):
    """A command-line option or argument is wrong: exit code 2."""

    exit_code = EXIT_USAGE


def render(error: BuildError) -> str:
    """Format ``error`` the way the CLI prints it: location, message, source line and caret, hint, output."""
    lines = [str(error)]
    span = error.span
    if span is not None and span.source_line is not None:
        source = span.source_line.expandtabs(1)
        lines.append(f"  {source}")
        lines.append("  " + " " * (max(span.column, 1) - 1) + "^")
    if error.hint:
        lines.append(f"  {error.hint}")
    if error.output_tail:
        lines.append("  output (last lines):")
        lines.extend(f"    {line}" for line in error.output_tail.rstrip("\n").splitlines())
    return "\n".join(lines)
