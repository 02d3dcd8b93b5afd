"""Reading the check options: the ``# check=`` directive, or ``--build-arg BUILDKIT_DOCKERFILE_CHECK=``,
which replaces the directive when given (as in BuildKit).

The text is BuildKit's: up to three ``;``-separated parts, ``skip=all|RULE,RULE``, ``error=BOOL`` and
``experimental=all|RULE,…``. Rule names are not validated (BuildKit accepts any name). A ``# check=skip=…``
comment just above an instruction also skips rules for that instruction alone (`enabled`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping

from builder.checks.model import CheckOptions
from builder.errors import Span, UsageError
from builder.gofmt import quote
from builder.syntax.ast import Buildfile
from builder.syntax.gocompat import parse_bool

#: The build argument that sets the check options for one build.
BUILD_ARG = "BUILDKIT_DOCKERFILE_CHECK"


def parse_options(text: str, span: Span | None = None) -> CheckOptions:
    """Parse a check option string; raises `UsageError` (located at ``span`` when given) if it is malformed."""
    text = text.strip()
    if not text:
        return CheckOptions()
    skip: frozenset[str] = frozenset()
    experimental: frozenset[str] = frozenset()
    skip_all = error = False
    for part in text.split(";", 2):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq:
            raise UsageError(f"invalid check option {quote(part)}", span)
        value = value.strip()
        if key == "skip":
            skip_all = value == "all"
            skip = frozenset() if skip_all else frozenset(name.strip() for name in value.split(","))
        elif key == "experimental":
            experimental = frozenset(name.strip() for name in value.split(","))
        elif key == "error":
            try:
                error = parse_bool(value)
            except ValueError:
                raise UsageError(f"failed to parse check option {quote(part)}", span) from None
        else:
            raise UsageError(
                f"invalid check option {quote(key)}", span, hint="use skip=, error= or experimental="
            )
    return CheckOptions(skip, skip_all, error, experimental)


def options_for(buildfile: Buildfile, build_args: Mapping[str, str]) -> CheckOptions:
    """The options in force: the build argument if given, else the file's ``# check=`` directive."""
    if BUILD_ARG in build_args:
        return parse_options(build_args[BUILD_ARG])
    for directive in buildfile.directives:
        if directive.name == "check":
            return parse_options(directive.value, directive.span)
    return CheckOptions()


#: Rules whose findings a ``# check=`` comment just above the instruction can turn off (BuildKit merges
#: such a comment into the options where it checks one instruction; the others are checked file-wide).
FILE_WIDE_RULES = frozenset(
    {
        "ConsistentInstructionCasing",
        "DuplicateStageName",
        "ReservedStageName",
        "NoEmptyContinuation",
        "InvalidDefaultArgInFrom",
        "InvalidBaseImagePlatform",
    }
)
_COMMENT_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")


def _instruction_comments(buildfile: Buildfile, lines: tuple[str, ...]) -> dict[int, list[str]]:
    """For each instruction (by its first line), the comments written since the previous one, as BuildKit
    collects them: a bare ``#`` starts over, blank lines do not, parser directives are not comments."""
    directive_lines = {d.span.line for d in buildfile.directives}
    found: dict[int, list[str]] = {}
    after = 0
    for ins in buildfile.instructions:
        comments: list[str] = []
        for number in range(after + 1, ins.span.line):
            text = lines[number - 1].strip() if number <= len(lines) else ""
            if not text.startswith("#") or number in directive_lines:
                continue
            comment = text[1:].strip()
            comments = comments + [comment] if comment else []
        found[ins.span.line] = comments
        after = max(ins.span.end_line or ins.span.line, ins.span.line)
    return found


def _comment_options(comments: list[str]) -> CheckOptions | None:
    for comment in comments:
        match = _COMMENT_DIRECTIVE.match(comment)
        if match is None or match.group(1).lower() != "check":
            continue
        try:
            return parse_options(match.group(2).split(" ", 1)[0])
        except UsageError:
            return None
    return None


def enabled(findings: list, options: CheckOptions, buildfile: Buildfile, lines: tuple[str, ...]) -> list:
    """The findings ``options`` keeps, each also subject to a ``# check=skip=…`` comment above its
    instruction (``# check=skip=JSONArgsRecommended`` then ``CMD run.sh``)."""
    comments = _instruction_comments(buildfile, lines)
    starts = sorted(comments)
    kept = []
    for finding in findings:
        name = finding.rule.name
        if not options.enabled(name):
            continue
        if name not in FILE_WIDE_RULES:
            index = bisect.bisect_right(starts, finding.span.line) - 1
            local = _comment_options(comments[starts[index]]) if index >= 0 else None
            if local is not None and not local.enabled(name):
                continue
        kept.append(finding)
    return kept
