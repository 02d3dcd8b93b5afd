"""Shell patterns in ``${v#p}``, ``${v%p}`` and ``${v/p/r}``, and the Go regexp behaviour BuildKit relies on."""

from __future__ import annotations

import re

from builder.expand.limits import word_too_long
from builder.linearre import LinearRegex, compile_linear

# Go's text/scanner drops a byte-order mark at the start of its input, and shows EOF as U+FFFD in messages.
_BOM = "\ufeff"
_GO_EOF_TEXT = "\ufffd"


class PatternError(Exception):
    pass


def shell_pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str] | LinearRegex:
    """The regex for a ``${v#p}`` or ``${v/p/r}`` pattern: ``*``, ``?`` and ``\\`` escapes; no classes.

    It matches in time linear in the value, as BuildKit's Go regexp does (:mod:`builder.linearre`): a
    pattern of several ``*`` over a long value would make Python's ``re`` backtrack for hours."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 1 if pattern.startswith(_BOM) else 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            following = pattern[i] if i < n else ""
            if following in ("}", "/") and following:
                continue  # the escape only protected the delimiter; it is not part of the pattern
            i += 1
            if following not in ("*", "?", "\\") or not following:
                raise PatternError(f"invalid escape '\\{following or _GO_EOF_TEXT}'")
            out.append(re.escape(following))
        else:
            out.append(re.escape(ch))
    # Every repetition is a "*" of the pattern; the regex text is in the syntax re and RE2 share.
    return compile_linear("".join(out), pattern.count("*"))


def trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = shell_pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[match.end() :] if match else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern but keep each ``\\x`` escape pair in order (``a\\*c`` becomes ``c\\*a``)."""
    tokens: list[str] = []
    i, last = 0, len(pattern) - 1
    while i <= last:
        if pattern[i] == "\\" and i != last:
            tokens.append(pattern[i : i + 2])
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return "".join(reversed(tokens))


def trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # Regexes find the leftmost match, so the shortest or longest suffix is found by reversing both sides.
    return trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def _template_name(template: str, i: int) -> tuple[str, int] | None:
    """The name of a ``$name`` or ``${name}`` reference starting at ``i``, and where it ends."""
    brace = template.startswith("{", i)
    start = end = i + brace
    while end < len(template) and (
        template[end].isalpha() or template[end].isdecimal() or template[end] == "_"
    ):
        end += 1
    if end == start:
        return None
    if brace:
        if not template.startswith("}", end):
            return None
        return template[start:end], end + 1
    return template[start:end], end


def _go_template(template: str, whole: str, limit: int) -> str:
    """Go's Regexp.Expand for a regex without groups: ``$0``/``${0}`` is the match, ``$$`` a dollar.
    Raises `builder.expand.limits.TooLarge` when the result would pass ``limit`` characters."""
    out: list[str] = []
    size = len(template)  # what the template's own text adds, and each copy of the match below
    i = 0
    while True:
        j = template.find("$", i)
        if j < 0:
            out.append(template[i:])
            return "".join(out)
        out.append(template[i:j])
        i = j + 1
        if template.startswith("$", i):
            out.append("$")
            i += 1
            continue
        found = _template_name(template, i)
        if found is None:
            out.append("$")  # malformed reference: the dollar stays as text
            continue
        name, i = found
        if name == "0":
            size += len(whole)
            if size > limit:
                raise word_too_long()
            out.append(whole)
        # Any other name is a group this regex does not have (it has none), so it expands to nothing.


def go_replace_all(regex: re.Pattern[str] | LinearRegex, value: str, template: str, limit: int) -> str:
    """Go's ReplaceAllString: unlike re.sub, an empty match right after a match is not replaced.

    Raises `builder.expand.limits.TooLarge` as soon as the result would pass ``limit`` characters (each
    match may add a copy of the template: a long value and a long template would ask for their product)."""
    out: list[str] = []
    size = 0
    last_end = 0
    pos = 0
    while pos <= len(value):
        match = regex.search(value, pos)
        if match is None:
            break
        begin, end = match.span()
        out.append(value[last_end:begin])
        size += begin - last_end
        if end > last_end or begin == 0:
            text = _go_template(template, value[begin:end], limit)
            out.append(text)
            size += len(text)
        if size > limit:
            raise word_too_long()
        last_end = end
        pos = pos + 1 if pos + 1 > end else end
    out.append(value[last_end:])
    return "".join(out)
