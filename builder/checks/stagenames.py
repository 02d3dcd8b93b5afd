"""Rules about stage names: DuplicateStageName and ReservedStageName (``scratch`` and ``context`` name
sources of their own, so a stage called that is shadowed or shadows them)."""

from __future__ import annotations

from collections.abc import Iterator

from builder.checks.model import CheckInput, Finding, at_word
from builder.syntax.ast import From

RESERVED_STAGE_NAMES = ("context", "scratch")


def stage_names(check: CheckInput) -> Iterator[Finding]:
    seen: set[str] = set()
    for ins in check.buildfile.instructions:
        if not isinstance(ins, From) or ins.stage_name is None:
            continue
        name = ins.stage_name  # lower case, as BuildKit compares them
        span = at_word(ins, ins.original.split()[-1], last=True)
        if name in RESERVED_STAGE_NAMES:
            yield Finding.of("ReservedStageName", span, name)
        if name in seen:
            yield Finding.of("DuplicateStageName", span, name)
        seen.add(name)
