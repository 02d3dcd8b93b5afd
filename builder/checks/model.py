"""The values the checks pass around: a finding, the check options, what a rule may know about a base image,
and everything one run of the checks looks at."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from builder.checks.rules import RULES, Rule
from builder.errors import Span
from builder.platforms import Platform
from builder.syntax.ast import Buildfile, Instruction

if TYPE_CHECKING:
    from builder.context.ignore import IgnoreRules
    from builder.plan import Plan


@dataclass(frozen=True)
class Finding:
    """One rule's finding: what it says and where (``span`` points at the word concerned where there is one)."""

    rule: Rule
    message: str
    span: Span

    @classmethod
    def of(cls, name: str, span: Span, *args: str) -> Finding:
        rule = RULES[name]
        return cls(rule, rule.message(*args), span)


@dataclass(frozen=True)
class CheckOptions:
    """``# check=`` (or ``--build-arg BUILDKIT_DOCKERFILE_CHECK=``): rules skipped, and whether a finding
    fails the build. ``experimental`` names rules that are off unless asked for (pybuild has none)."""

    skip: frozenset[str] = frozenset()
    skip_all: bool = False
    error: bool = False
    experimental: frozenset[str] = frozenset()

    def enabled(self, name: str) -> bool:
        return not self.skip_all and name not in self.skip


@dataclass(frozen=True)
class BaseImage:
    """What the checks need of a base image: its config's environment, SHELL and platform."""

    env: Mapping[str, str]
    shell: tuple[str, ...]
    platform: Platform


#: ``(reference as the stage names it, platform wanted) -> the image, or None when it is not known``
BaseLookup = Callable[[str, Platform], "BaseImage | None"]


def no_base(ref: str, platform: Platform) -> BaseImage | None:
    """A lookup that knows no image (pure tests; a build without a store)."""
    return None


@dataclass(frozen=True)
class CheckInput:
    """One run of the checks.

    ``lines`` are the Buildfile's physical lines (for findings on a line other than an instruction's first);
    ``plan`` is None when planning failed (rules that follow the stages then do not run); ``all_stages``
    checks every stage rather than those the target needs (``--check`` without ``--target``); ``ignore`` is
    the context's compiled ``.dockerignore`` (None: there is none).
    """

    buildfile: Buildfile
    lines: tuple[str, ...]
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    build_platform: Platform | None = None
    plan: Plan | None = None
    all_stages: bool = True
    base_image: BaseLookup = no_base
    ignore: IgnoreRules | None = None

    def line_span(self, line: int, column: int = 1) -> Span:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return Span(self.buildfile.path, line, column, None, text)


def at_word(instruction: Instruction, word: str, *, last: bool = False) -> Span:
    """The instruction's span with its column at ``word`` on its first line (its own column if not there)."""
    span = instruction.span
    source = span.source_line or ""
    at = source.rfind(word) if last else source.find(word)
    return replace(span, column=at + 1) if word and at >= 0 else span
