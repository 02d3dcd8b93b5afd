"""Small pieces of Go's standard library whose exact behaviour BuildKit's parser inherits.

BuildKit decides what is whitespace with ``unicode.IsSpace``, prints its AST with ``strconv.Quote`` and reads
HEALTHCHECK durations with ``time.ParseDuration``. Python's nearest equivalents differ at the edges
(``str.isspace`` accepts U+001C–U+001F, ``repr`` quotes differently, there is no duration parser), so the
parser uses these instead. Everything here is pure and works on ``str``; a lone surrogate in the text stands
for a byte that was not valid UTF-8 (``surrogateescape``).
"""

from __future__ import annotations

import unicodedata

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


_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def quote(text: str) -> str:
    """Go's ``strconv.Quote``: double-quoted, Go escapes (``\\x00``, ``\\u00a0``), printable runes kept."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            # A byte that was not UTF-8 (or a lone surrogate): Go prints the raw bytes.
            raw = ch.encode("utf-8", "surrogateescape" if 0xDC80 <= code <= 0xDCFF else "surrogatepass")
            out.extend(f"\\x{b:02x}" for b in raw)
        elif unicodedata.category(ch)[0] in "LMNPS":
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def quote_list(items: list[str]) -> str:
    """Go's ``fmt.Sprintf("%q", []string{...})``: ``["a" "b"]``."""
    return "[" + " ".join(quote(item) for item in items) + "]"


_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # µs, MICRO SIGN
    "\u03bcs": 1_000,  # μs, GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX = 1 << 63


def parse_duration(text: str) -> int:
    """Go's ``time.ParseDuration``, in nanoseconds. Raises ValueError with Go's message on bad input."""
    invalid = ValueError(f"time: invalid duration {quote(text)}")
    s = text
    negative = False
    if s and s[0] in "+-":
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        whole_digits, s = s[:i], s[i:]
        whole = int(whole_digits) if whole_digits else 0
        if whole >= _MAX:
            raise invalid
        fraction, scale, frac_digits = 0, 1.0, ""
        if s.startswith("."):
            s = s[1:]
            i = 0
            while i < len(s) and "0" <= s[i] <= "9":
                i += 1
            frac_digits, s = s[:i], s[i:]
            overflow = False
            for digit in frac_digits:
                if overflow or fraction > (_MAX - 1) // 10:
                    overflow = True  # Go stops accumulating digits but keeps consuming them
                    continue
                fraction = fraction * 10 + int(digit)
                scale *= 10
        if not whole_digits and not frac_digits:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise ValueError(f"time: missing unit in duration {quote(text)}")
        unit_name, s = s[:i], s[i:]
        unit = _UNITS_NS.get(unit_name)
        if unit is None:
            raise ValueError(f"time: unknown unit {quote(unit_name)} in duration {quote(text)}")
        if whole > _MAX // unit:
            raise invalid
        value = whole * unit
        if fraction > 0:
            value += int(float(fraction) * (float(unit) / scale))
            if value > _MAX:
                raise invalid
        total += value
        if total > _MAX:
            raise invalid
    if negative:
        return -total
    if total > _MAX - 1:
        raise invalid
    return total


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
