"""How findings are shown: like errors (``Buildfile:7:1: warning: Rule: message``, the line, a caret), then
the rule's description and documentation address; and the closing lines of ``--check``, worded as buildx
words them."""

from __future__ import annotations

from builder.checks.model import Finding
from builder.errors import BuildError, render


def render_finding(finding: Finding) -> str:
    """One finding, located, in the error printer's layout with ``warning`` for ``error``."""
    error = BuildError(f"{finding.rule.name}: {finding.message}", finding.span)
    text = render(error).replace(": error: ", ": warning: ", 1)
    rule = finding.rule
    about = f"{rule.description} ({rule.url})" if rule.url else rule.description
    return f"{text}\n  {about}"


def check_summary(count: int) -> str:
    """The last line of ``--check`` (buildx's words)."""
    if count == 0:
        return "Check complete, no warnings found."
    if count == 1:
        return "Check complete, 1 warning has been found!"
    return f"Check complete, {count} warnings have been found!"


def build_summary(count: int) -> str:
    """The line under the warnings a build prints."""
    return "1 warning found" if count == 1 else f"{count} warnings found"


def violation(findings: list[Finding]) -> BuildError:
    """The error of a build whose checks are errors (``# check=error=true``), at the first finding."""
    names = list(dict.fromkeys(f.rule.name for f in findings))
    return BuildError(
        f"lint violation found for rules: {', '.join(names)}",
        findings[0].span,
        hint="'pybuild build --check' lists the findings; '# check=skip=RULE' turns a rule off",
    )
