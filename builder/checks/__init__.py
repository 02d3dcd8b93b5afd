"""Build checks: BuildKit's Dockerfile lint rules, run by ``pybuild build --check`` (or ``--call=check``) and,
as warnings, before every build.

The rules (``rules.RULES``: name, description, documentation address) are grouped by what they need:

* ``casing``, ``stagenames``, ``lines`` — the typed syntax tree alone;
* ``fromline`` — FROM lines with the global ARG scope (computed here, so they run even if planning fails);
* ``stagewalk`` (with ``ignored``) — each stage followed as the build runs it, from the `Plan`, what the
  store knows of base images, and the context's ``.dockerignore``.

`run_checks` is pure given its `CheckInput` (base images come through a lookup function), so every rule is
tested on parsed text without root. Options (``# check=skip=…;error=true``) are read by ``options``;
``report`` prints findings in the located style of errors.
"""

from __future__ import annotations

from builder.checks.model import BaseImage, CheckInput, CheckOptions, Finding, no_base
from builder.checks.options import BUILD_ARG, options_for, parse_options
from builder.checks.rules import RULES, Rule

__all__ = [
    "BUILD_ARG",
    "RULES",
    "BaseImage",
    "CheckInput",
    "CheckOptions",
    "Finding",
    "Rule",
    "enabled_findings",
    "no_base",
    "options_for",
    "parse_options",
    "parse_time_checks",
    "run_checks",
]


def run_checks(check: CheckInput) -> list[Finding]:
    """Every rule's findings, ordered by line (then as found), with no repeats; options not applied."""
    from builder.checks import casing, fromline, lines, stagenames, stagewalk

    producers = (
        lines.no_empty_continuation,
        casing.stage_name_casing,
        casing.from_as_casing,
        lines.maintainer_deprecated,
        stagenames.stage_names,
        casing.consistent_instruction_casing,
        fromline.invalid_default_arg_in_from,
        fromline.from_args,
        stagewalk.stage_rules,
    )
    found: list[Finding] = []
    seen: set[tuple[str, str, int, int]] = set()
    for produce in producers:
        for finding in produce(check):
            key = (finding.rule.name, finding.message, finding.span.line, finding.span.column)
            if key not in seen:
                seen.add(key)
                found.append(finding)
    return sorted(found, key=lambda f: f.span.line)


def parse_time_checks(check: CheckInput) -> list[Finding]:
    """The findings BuildKit makes while it reads instructions one by one, before any file-wide rule: what
    it still reports for the instructions above a line it then refuses (``check.buildfile`` holds those)."""
    from builder.checks import casing, lines

    producers = (
        lines.no_empty_continuation,
        casing.stage_name_casing,
        casing.from_as_casing,
        lines.maintainer_deprecated,
    )
    return sorted((f for produce in producers for f in produce(check)), key=lambda f: f.span.line)


def enabled_findings(findings: list[Finding], options: CheckOptions, check: CheckInput) -> list[Finding]:
    """The findings of the rules neither ``options`` nor a ``# check=`` comment above the instruction skip."""
    from builder.checks.options import enabled

    return enabled(findings, options, check.buildfile, check.lines)
