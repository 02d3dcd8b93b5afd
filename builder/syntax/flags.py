"""Which ``--flags`` each instruction takes, and the checks BuildKit makes on their values at parse time.

This mirrors BuildKit's ``BFlags`` (bool, string and repeatable string flags; unknown, duplicate and
valueless flags rejected) plus the value checks of ``instructions/parse.go`` and its RUN hooks. Values are
kept as written, quotes removed; only bool values are normalised to ``true``/``false``. A value holding
``$`` is not checked where BuildKit expands it later (``--chmod``), since its final form is not known yet.
"""

from __future__ import annotations

import difflib
import re
from enum import Enum

from builder.errors import Span, SyntaxProblem
from builder.gofmt import parse_duration, quote
from builder.syntax.ast import Flag
from builder.syntax.gocompat import parse_int32
from builder.syntax.nodes import RawNode


class Kind(Enum):
    BOOL = "bool"  # --link, --link=true, --link=false
    STRING = "string"  # --from=x, once
    STRINGS = "strings"  # --mount=…, may repeat


B, S, SS = Kind.BOOL, Kind.STRING, Kind.STRINGS

#: instruction → flag name → kind, in the order the help text lists them. Absent: takes no flags.
FLAGS: dict[str, dict[str, Kind]] = {
    "FROM": {"platform": S},
    "RUN": {"mount": SS, "network": S, "security": S},
    "COPY": {"from": S, "chown": S, "chmod": S, "link": B, "parents": B, "exclude": SS},
    "ADD": {"chown": S, "chmod": S, "link": B, "checksum": S, "keep-git-dir": B, "exclude": SS},
    "HEALTHCHECK": {"interval": S, "timeout": S, "start-period": S, "start-interval": S, "retries": S},
}

NETWORK_MODES = ("default", "none", "host")
SECURITY_MODES = ("sandbox", "insecure")
MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
HEALTHCHECK_DURATIONS = ("interval", "timeout", "start-period", "start-interval")
_MIN_INTERVAL_NS = 1_000_000  # Docker's container.MinimumDuration, 1ms
_SYMBOLIC_MODE = re.compile(r"[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+(?:,[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+)*\Z")


def parse_flags(node: RawNode, keyword: str) -> tuple[Flag, ...]:
    """Check ``node``'s flags against what ``keyword`` accepts; return them typed."""
    allowed = FLAGS.get(keyword, {})
    seen: set[str] = set()
    out: list[Flag] = []
    for raw in node.flags:
        span = node.line.span(raw.offset)
        name, has_value, value = raw.text[2:].partition("=")
        kind = allowed.get(name)
        if kind is None:
            raise _unknown(keyword, name, allowed, span)
        if name in seen and kind is not Kind.STRINGS:
            raise SyntaxProblem(f"duplicate flag --{name}: {keyword} takes it once", span)
        seen.add(name)
        if kind is Kind.BOOL:
            if not has_value:
                out.append(Flag(name, None, span))
                continue
            if value.lower() not in ("true", "false"):
                shown = "nothing" if not value else quote(value)
                raise SyntaxProblem(f"--{name} expects true or false, not {shown}", span)
            out.append(Flag(name, value.lower(), span))
            continue
        if not has_value:
            raise SyntaxProblem(f"missing a value on flag --{name}", span, hint=f"write --{name}=VALUE")
        check_value(keyword, name, value, span)
        out.append(Flag(name, value, span))
    return tuple(out)


def _unknown(keyword: str, name: str, allowed: dict[str, Kind], span: Span) -> SyntaxProblem:
    if not allowed:
        return SyntaxProblem(f"unknown flag --{name}: {keyword} takes no flags", span)
    names = ", ".join(f"--{flag}" for flag in allowed)
    close = difflib.get_close_matches(name, list(allowed), n=1)
    hint = f"did you mean --{close[0]}?" if close else None
    return SyntaxProblem(f"unknown flag --{name} for {keyword} (it takes {names})", span, hint=hint)


def check_value(keyword: str, name: str, value: str, span: Span) -> None:
    """Reject a flag value BuildKit rejects when it reads the instruction."""
    if name == "chmod" and "$" not in value:
        octal = value.isascii() and value.isdigit() and set(value) <= set("01234567")
        if not ((octal and int(value, 8) <= 0o7777) or _SYMBOLIC_MODE.match(value)):
            raise SyntaxProblem(
                f"invalid --chmod value {quote(value)}",
                span,
                hint="use an octal mode such as 0755 or a symbolic one such as u+x,go-w",
            )
    elif keyword == "RUN" and name == "network" and value not in NETWORK_MODES:
        raise SyntaxProblem(f"unsupported network mode {quote(value)}", span, hint="use default, none or host")
    elif keyword == "RUN" and name == "security" and value not in SECURITY_MODES:
        raise SyntaxProblem(f"security {quote(value)} is not valid", span, hint="use sandbox or insecure")
    elif keyword == "RUN" and name == "mount":
        _check_mount(value, span)
    elif name in HEALTHCHECK_DURATIONS and value:
        try:
            nanoseconds = parse_duration(value)
        except ValueError as error:
            raise SyntaxProblem(
                f"invalid --{name} value: {error}", span, hint="use a duration such as 30s"
            ) from None
        if nanoseconds != 0 and nanoseconds < _MIN_INTERVAL_NS:
            raise SyntaxProblem(f"--{name} {quote(value)} cannot be less than 1ms", span)
    elif name == "retries" and value:
        try:
            retries = parse_int32(value)
        except ValueError as error:
            raise SyntaxProblem(f"invalid --retries value: {error}", span) from None
        if retries < 0:
            raise SyntaxProblem(f"--retries cannot be negative ({retries})", span)


def _check_mount(value: str, span: Span) -> None:
    """Only the mount type is checked here; the rest of a mount spec is the planner's business."""
    for field in value.split(","):
        key, _, kind = field.strip().partition("=")
        if key.strip().lower() == "type" and "$" not in kind and kind.strip().lower() not in MOUNT_TYPES:
            raise SyntaxProblem(
                f"unsupported mount type {quote(kind.strip())}",
                span,
                hint="use bind, cache, tmpfs, secret or ssh",
            )
