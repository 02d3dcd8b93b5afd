"""Go's ``fmt`` renderings that BuildKit writes into image history (``created_by``) and its AST dump.

BuildKit formats several history entries with Go verbs (``%q`` of a string slice, ``%v`` of a slice, durations,
a rune). Reproducing them byte for byte is what makes our history equal BuildKit's.
"""

from __future__ import annotations

import unicodedata

_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _printable(ch: str) -> bool:
    """Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def quote(text: str) -> str:
    """Go ``strconv.Quote``: double quotes, ``\\"`` and ``\\\\``, short escapes, ``\\xNN`` below 0x20 and 0x7F,
    ``\\uNNNN``/``\\UNNNNNNNN`` for other unprintable runes; printable Unicode is kept as is."""
    out = ['"']
    for ch in text:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # a surrogate-escaped invalid UTF-8 byte
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def quote_list(items: list[str] | tuple[str, ...]) -> str:
    """Go ``%q`` of a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join(quote(i) for i in items) + "]"


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


_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_DURATION_UNITS.update({"m": 60 * 1_000_000_000, "h": 3600 * 1_000_000_000})


def parse_duration(text: str) -> int:
    """Go ``time.ParseDuration`` → nanoseconds (``1m30s``, ``1.5h``, ``500ms``, ``0``). Raises ValueError."""
    import re

    s = text.strip()
    if s in ("0", "+0", "-0"):
        return 0
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("+-")
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total = 0.0
    pos = 0
    for match in re.finditer(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", s):
        if match.start() != pos:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"invalid duration {text!r}")
    return sign * int(round(total))
