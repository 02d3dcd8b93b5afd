"""Small pieces of Go's standard library whose exact behaviour BuildKit's parser inherits.

BuildKit decides what is whitespace with ``unicode.IsSpace``, prints its AST with ``strconv.Quote`` and reads
HEALTHCHECK durations with ``time.ParseDuration``. Python's nearest equivalents differ at the edges
(``str.isspace`` accepts U+001C–U+001F, ``repr`` quotes differently, there is no duration parser), so the
parser uses these instead. Everything here is pure and works on ``str``; a lone surrogate in the text stands
for a byte that was not valid UTF-8 (``surrogateescape``).
"""

from __future__ import annotations

from builder.gofmt import quote

#: Go's unicode.IsSpace: ASCII \t \n \v \f \r and space, U+0085, U+00A0, and the White_Space property above.
_GO_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def is_space(ch: str) -> bool:
    """Go's ``unicode.IsSpace`` for one character."""
    return ch in _GO_SPACES


def trim_space(text: str) -> str:
    """Go's ``strings.TrimSpace``."""
    return trim_right_space(trim_left_space(text))


def trim_left_space(text: str) -> str:
    """Go's ``strings.TrimLeftFunc(s, unicode.IsSpace)``."""
    i = 0
    while i < len(text) and text[i] in _GO_SPACES:
        i += 1
    return text[i:]


def trim_right_space(text: str) -> str:
    """Go's ``strings.TrimRightFunc(s, unicode.IsSpace)``."""
    j = len(text)
    while j > 0 and text[j - 1] in _GO_SPACES:
        j -= 1
    return text[:j]


def parse_int32(text: str) -> int:
    """Go's ``strconv.ParseInt(s, 10, 32)``. Raises ValueError with Go's message on bad input."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"strconv.ParseInt: parsing {quote(text)}: invalid syntax")
    value = int(text)
    if not -(1 << 31) <= value < (1 << 31):
        raise ValueError(f"strconv.ParseInt: parsing {quote(text)}: value out of range")
    return value


def parse_bool(text: str) -> bool:
    """Go's ``strconv.ParseBool``."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"strconv.ParseBool: parsing {quote(text)}: invalid syntax")
