"""The Buildfile parser: text in, the typed AST of ``builder.syntax.ast`` out. Pure: no I/O.

It reads the Dockerfile language exactly as BuildKit's frontend does, in the same three steps:

1. ``scanner`` — the pre-pass over physical lines: byte order mark, parser directives, comments,
   continuation lines, heredoc bodies. Produces logical lines that remember where each character was.
2. ``nodes`` — the lark line grammar (``grammar/buildfile.lark``: keyword, ``--flags``, JSON exec form)
   and BuildKit's per-instruction argument splitting, giving BuildKit's raw nodes. `dump_buildkit`
   prints them in BuildKit's ``Node.Dump()`` format; the conformance vectors compare it byte for byte.
3. ``typed`` (with ``flags``) — BuildKit's instruction-level checks and the conversion to typed nodes.

Every malformed input raises `SyntaxProblem` (exit code 2) with a `Span` at the offending token.

A parser directive below the top of the file (after a comment, a blank line or an instruction) is an
ordinary comment, as in BuildKit (its ``escape-after-comment`` vector); pybuild adds a warning that says so.

Where pybuild is stricter than BuildKit (each is a likely mistake that BuildKit would silently accept or
report only at build time): an instruction other than RUN/COPY/ADD with a heredoc marker is an error
(BuildKit reads the body lines as instructions); ONBUILD triggers are parsed now, not when a child image
uses them; RUN, CMD and ENTRYPOINT with nothing after the keyword are errors; flags on instructions that
take none are errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from builder.errors import SyntaxProblem

if TYPE_CHECKING:
    from builder.syntax.ast import Buildfile
    from builder.syntax.heredoc import Marker

__all__ = ["SyntaxProblem", "dump_buildkit", "heredoc_marker", "parse"]


def parse(text: str, path: str = "Buildfile") -> Buildfile:
    """Parse a Buildfile. ``path`` is only used in spans and messages. Raises SyntaxProblem."""
    from builder.syntax import ast
    from builder.syntax.scanner import scan
    from builder.syntax.typed import to_instruction

    result = scan(text, path)
    warnings = list(result.warnings)
    for misplaced in result.misplaced:
        warnings.append(
            f"{misplaced.span}: '# {misplaced.name}={misplaced.value}' is not at the top of the file, "
            "so it is an ordinary comment"
        )
    return ast.Buildfile(
        path=path,
        instructions=tuple(to_instruction(node) for node in result.nodes),
        directives=tuple(ast.Directive(d.name, d.value, d.span) for d in result.directives),
        escape=result.escape,
        warnings=tuple(warnings),
    )


def dump_buildkit(text: str) -> str:
    """BuildKit's ``Node.Dump()`` of the raw parse: one ``(instruction …)`` line per instruction.

    No trailing newline (BuildKit's test compares ``Dump() + "\\n"`` with a ``result`` file). Only the
    raw parser's checks apply here, as in BuildKit's ``parser.Parse``: unknown instructions and flags pass.
    """
    from builder.syntax.scanner import scan

    return "\n".join(f"({node.dump()})" for node in scan(text, "Dockerfile").nodes)


def heredoc_marker(word: str) -> Marker | None:
    """The heredoc marker a COPY/ADD source word such as ``<<-'EOF'`` stands for, or None.

    ``CopyLike.sources`` keeps such words as written; match ``marker.name`` with ``Heredoc.name``.
    """
    from builder.syntax.heredoc import parse_marker_quietly

    return parse_marker_quietly(word)
