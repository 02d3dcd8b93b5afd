"""Rules about how lines are written, found without following the stages: MaintainerDeprecated and
NoEmptyContinuation."""

from __future__ import annotations

from collections.abc import Iterator

from builder.checks.model import CheckInput, Finding
from builder.syntax.ast import Instruction, Maintainer

#: The parser's warning for a continued instruction with a blank line inside (see builder.syntax.scanner).
_EMPTY_CONTINUATION = "Empty continuation line found in: "


def maintainer_deprecated(check: CheckInput) -> Iterator[Finding]:
    for ins in check.buildfile.instructions:
        if isinstance(ins, Maintainer):
            yield Finding.of("MaintainerDeprecated", ins.span)


def no_empty_continuation(check: CheckInput) -> Iterator[Finding]:
    """One finding per instruction the parser saw a blank continuation line in, at the instruction's last
    line (where BuildKit reports it)."""
    pending = [
        w[len(_EMPTY_CONTINUATION) :] for w in check.buildfile.warnings if w.startswith(_EMPTY_CONTINUATION)
    ]
    for ins in check.buildfile.instructions:
        if pending and ins.original == pending[0]:
            pending.pop(0)
            yield Finding.of("NoEmptyContinuation", check.line_span(_last_line(check, ins)))


def _continues(text: str, escape: str) -> bool:
    stripped = text.rstrip(" \t")
    return stripped.endswith(escape) and (len(stripped) == 1 or stripped[-2] != escape)


def _last_line(check: CheckInput, ins: Instruction) -> int:
    """The physical line that ends ``ins``'s logical line (blank and comment lines inside it are skipped)."""
    escape = check.buildfile.escape
    number = ins.span.line
    if not _continues(check.lines[number - 1] if number <= len(check.lines) else "", escape):
        return number
    while number < len(check.lines):
        number += 1
        text = check.lines[number - 1].lstrip(" \t")
        if not text or text.startswith("#"):
            continue
        if not _continues(text, escape):
            return number
    return number
