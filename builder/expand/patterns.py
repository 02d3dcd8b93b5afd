"""Shell patterns in ``${v#p}``, ``${v%p}`` and ``${v/p/r}``, and the Go regexp behaviour BuildKit relies on."""

from __future__ import annotations

import re

# Go's text/scanner drops a byte-order mark at the start of its input, and shows EOF as U+FFFD in messages.
_BOM = "\ufeff"
_GO_EOF_TEXT = "\ufffd"


class PatternError(Exception):
    pass


def shell_pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """The regex for a ``${v#p}`` or ``${v/p/r}`` pattern: ``*``, ``?`` and ``\\`` escapes; no classes."""
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
    return re.compile("".join(out))


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


def _go_template(template: str, whole: str) -> str:
    """Go's Regexp.Expand for a regex without groups: ``$0``/``${0}`` is the match, ``$$`` a dollar."""
    out: list[str] = []
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
            out.append(whole)
        # Any other name is a group this regex does not have (it has none), so it expands to nothing.


def go_replace_all(regex: re.Pattern[str], value: str, template: str) -> str:
    """Go's ReplaceAllString: unlike re.sub, an empty match right after a match is not replaced."""
    out: list[str] = []
    last_end = 0
    pos = 0
    while pos <= len(value):
        match = regex.search(value, pos)
        if match is None:
            break
        begin, end = match.span()
        out.append(value[last_end:begin])
        if end > last_end or begin == 0:
            out.append(_go_template(template, match.group(0)))
        last_end = end
        pos = pos + 1 if pos + 1 > end else end
    out.append(value[last_end:])
    return "".join(out)
