"""Reading the check options: the ``# check=`` directive, or ``--build-arg BUILDKIT_DOCKERFILE_CHECK=``,
which replaces the directive when given (as in BuildKit).

The text is BuildKit's: up to three ``;``-separated parts, ``skip=all|RULE,RULE``, ``error=BOOL`` and
``experimental=all|RULE,…``. Rule names are not validated (BuildKit accepts any name).
"""

from __future__ import annotations

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
