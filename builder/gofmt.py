"""Go's ``strconv``/``fmt``/``time`` renderings that BuildKit's output depends on, reproduced exactly.

BuildKit quotes words in its messages and AST dump with ``strconv.Quote``, writes image history with Go verbs
(``%q`` of a string slice, ``%v`` of a slice, a rune) and parses HEALTHCHECK durations with
``time.ParseDuration``. The parser, the expander and the instructions all use this one module.
"""

from __future__ import annotations

import unicodedata

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


def _printable(ch: str) -> bool:
    """Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def plain_list(items: list[str] | tuple[str, ...]) -> str:
    """Go ``%v`` of a ``[]string``: ``[a b]``."""
    return "[" + " ".join(items) + "]"


def quote_rune(value: int) -> str:
    """Go ``%q`` of an integer (a rune): ``'\\x03'``, ``'a'``."""
    ch = chr(value)
    if ch == "'":
        return "'\\''"
    if ch == "\\":
        return "'\\\\'"
    if ch in _SHORT_ESCAPES:
        return f"'{_SHORT_ESCAPES[ch]}'"
    if _printable(ch):
        return f"'{ch}'"
    if value < 0x80:
        return f"'\\x{value:02x}'"
    if value <= 0xFFFF:
        return f"'\\u{value:04x}'"
    return f"'\\U{value:08x}'"


def duration(nanoseconds: int) -> str:
    """Go ``time.Duration.String``: ``0s``, ``500ms``, ``1.5s``, ``1m30s``, ``1h0m0s``."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    ns = abs(nanoseconds)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _fraction(ns, size) + unit
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")
