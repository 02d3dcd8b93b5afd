"""Ignore patterns compiled the way moby/patternmatcher compiles them, for Python's ``re``.

patternmatcher (used by BuildKit, the docker CLI and moby) checks a pattern with Go's ``filepath.Match``
syntax rules, then classifies it as an exact, prefix (``dir/**``), suffix (``**/name``) or regexp match and,
for the last kind, writes a Go regexp from it. That regexp, not ``filepath.Match``, decides what matches, so
its quirks are part of Docker's behaviour: ``\\d`` in a pattern is a digit class, ``[[:alpha:]]`` a POSIX
class, and ``*`` inside brackets becomes a nested class. To agree with Docker we build the same Go regexp
text and translate it, construct by construct, into an equivalent Python regex; a pattern that Python's
backtracking could take exponential time over is matched on the Go text by RE2 instead
(:mod:`builder.linearre`).

Go's regexp escapes ``\\pN`` and ``\\p{Greek}`` (Unicode classes) have no Python equivalent and are
rejected with a clear error instead of being guessed at.
"""

from __future__ import annotations

import re

from builder.linearre import LinearRegex, PatternTooComplex, compile_linear

EXACT, PREFIX, SUFFIX, REGEXP = "exact", "prefix", "suffix", "regexp"
_MAX_RUNE = 0x10FFFF


class PatternSyntaxError(ValueError):
    """The pattern is malformed; the message says how (Go's own wording where there is one)."""


def check_match_syntax(pattern: str) -> None:
    """Raise :class:`PatternSyntaxError` where Go's ``filepath.Match`` reports ``ErrBadPattern``."""
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "\\":
            if i >= n:
                raise PatternSyntaxError("syntax error in pattern")
            i += 1
        elif ch == "[":
            i = _check_class(pattern, i)


def _check_class(pattern: str, i: int) -> int:
    """Check the bracket expression whose body starts at ``i``; return the index after its ``]``."""
    n = len(pattern)
    if i < n and pattern[i] == "^":
        i += 1
    ranges = 0
    while True:
        if i < n and pattern[i] == "]" and ranges > 0:
            return i + 1
        i = _check_class_char(pattern, i)
        if pattern[i] == "-":
            i = _check_class_char(pattern, i + 1)
        ranges += 1


def _check_class_char(pattern: str, i: int) -> int:
    n = len(pattern)
    if i >= n or pattern[i] in "-]":
        raise PatternSyntaxError("syntax error in pattern")
    if pattern[i] == "\\":
        i += 1
        if i >= n:
            raise PatternSyntaxError("syntax error in pattern")
    if i + 1 >= n:  # a class character must be followed by more of the class
        raise PatternSyntaxError("syntax error in pattern")
    return i + 1


def go_regexp_source(pattern: str) -> tuple[str, str]:
    """patternmatcher's classification of a cleaned pattern and, for ``REGEXP``, its Go regexp text."""
    regex = "^"
    kind = EXACT
    i, n = 0, len(pattern)
    first = True
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":  # "**/" is the same as "**"
                    i += 1
                if i >= n:
                    if kind == EXACT:
                        kind = PREFIX
                    else:
                        regex += ".*"
                        kind = REGEXP
                else:
                    regex += "(.*/)?"
                    kind = REGEXP
                if first:
                    kind = SUFFIX
            else:
                regex += "[^/]*"
                kind = REGEXP
        elif ch == "?":
            regex += "[^/]"
            kind = REGEXP
        elif ch in ".+()|{}$":
            regex += "\\" + ch
        elif ch == "\\":
            if i < n:
                regex += "\\" + pattern[i]
                i += 1
                kind = REGEXP
            else:
                regex += "\\"
        elif ch in "[]":
            regex += ch
            kind = REGEXP
        else:
            regex += ch
        first = False
    return kind, regex + "$"


# --- Go regexp (RE2 syntax, Perl flags) to Python --------------------------------------------------------

_DIGIT = [(0x30, 0x39)]
_SPACE = [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)]
_WORD = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
_PERL = {"d": _DIGIT, "s": _SPACE, "w": _WORD}
_POSIX = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": _DIGIT,
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": _WORD,
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}
_C_ESCAPES = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}


def _negate(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, low = [], 0
    for lo, hi in sorted(ranges):
        if lo > low:
            out.append((low, lo - 1))
        low = max(low, hi + 1)
    if low <= _MAX_RUNE:
        out.append((low, _MAX_RUNE))
    return out


def _class_regex(ranges: list[tuple[int, int]], negated: bool = False) -> str:
    if not ranges:
        # Go accepts a class that can match nothing (or anything); Python needs it spelled as a range.
        return f"[{'' if negated else '^'}\\U00000000-\\U0010ffff]"
    body = "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)
    return f"[{'^' if negated else ''}{body}]"


def _hex(ch: str) -> int:
    return int(ch, 16) if ch in "0123456789abcdefABCDEF" and ch else -1


def _parse_escape(src: str, i: int) -> tuple[int, int]:
    """Go's parseEscape: the character that the escape after the backslash at ``i - 1`` stands for."""
    if i >= len(src):
        raise PatternSyntaxError("trailing backslash at end of expression")
    ch, i = src[i], i + 1
    if ch.isascii() and not ch.isalnum():
        return ord(ch), i
    if ch in "01234567" and (ch == "0" or (i < len(src) and src[i] in "01234567")):
        value = int(ch)
        for _ in range(2):
            if i < len(src) and src[i] in "01234567":
                value, i = value * 8 + int(src[i]), i + 1
        return value, i
    if ch == "x" and i < len(src):
        if src[i] == "{":
            end = src.find("}", i + 1)
            digits = src[i + 1 : end] if end >= 0 else ""
            if digits and all(_hex(d) >= 0 for d in digits) and int(digits, 16) <= _MAX_RUNE:
                return int(digits, 16), end + 1
        elif i + 1 < len(src) and _hex(src[i]) >= 0 and _hex(src[i + 1]) >= 0:
            return int(src[i : i + 2], 16), i + 2
    if ch in _C_ESCAPES:
        return _C_ESCAPES[ch], i
    raise PatternSyntaxError(f"invalid escape sequence: \\{ch}")


def _perl_class(ch: str) -> list[tuple[int, int]] | None:
    ranges = _PERL.get(ch.lower())
    if ranges is None:
        return None
    return _negate(ranges) if ch.isupper() else ranges


def _parse_class(src: str, i: int) -> tuple[str, int]:
    """Translate the Go character class whose body starts at ``i``; return it and the index after it."""
    negated = i < len(src) and src[i] == "^"
    i += negated
    ranges: list[tuple[int, int]] = []
    first = True
    while i >= len(src) or src[i] != "]" or first:
        first = False
        if src.startswith("[:", i):
            end = src.find(":]", i + 2)
            if end >= 0:
                name = src[i + 2 : end]
                group = _POSIX.get(name.removeprefix("^"))
                if group is None:
                    raise PatternSyntaxError(f"invalid character class range: [:{name}:]")
                ranges += _negate(group) if name.startswith("^") else group
                i = end + 2
                continue
        if src.startswith("\\", i) and i + 1 < len(src):
            if src[i + 1] in "pP":
                raise PatternSyntaxError("Unicode classes (\\p, \\P) are not supported in ignore patterns")
            perl = _perl_class(src[i + 1])
            if perl is not None:
                ranges += perl
                i += 2
                continue
        lo, i = _class_char(src, i)
        hi = lo
        if i + 1 < len(src) and src[i] == "-" and src[i + 1] != "]":
            hi, i = _class_char(src, i + 1)
            if hi < lo:
                raise PatternSyntaxError("invalid character class range")
        ranges.append((lo, hi))
    return _class_regex(ranges, negated), i + 1


def _class_char(src: str, i: int) -> tuple[int, int]:
    if i >= len(src):
        raise PatternSyntaxError("missing closing ]")
    if src[i] == "\\":
        return _parse_escape(src, i + 1)
    return ord(src[i]), i + 1


def go_regexp_to_python(src: str) -> str:
    """Translate the Go regexp text that :func:`go_regexp_source` writes into Python ``re`` syntax.

    Go compiles it with Perl flags: ``^``/``$`` anchor the whole text, negated classes match newlines, and
    ``\\d``, ``\\s``, ``\\w``, ``\\b`` are ASCII-only; the translation keeps all of that.
    """
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch == "[":
            text, i = _parse_class(src, i + 1)
            out.append(text)
            continue
        i += 1
        if ch == "$":
            out.append(r"\Z")
        elif ch in "^().*?":
            out.append(ch)
        elif ch != "\\":
            out.append(re.escape(ch))
        elif i < n and src[i] in "AzbB":
            out.append({"A": r"\A", "z": r"\Z", "b": r"\b", "B": r"\B"}[src[i]])
            i += 1
        elif i < n and src[i] == "Q":
            end = src.find("\\E", i + 1)
            literal = src[i + 1 :] if end < 0 else src[i + 1 : end]
            out.append(re.escape(literal))
            i = n if end < 0 else end + 2
        elif i < n and src[i] in "pP":
            raise PatternSyntaxError("Unicode classes (\\p, \\P) are not supported in ignore patterns")
        elif i < n and (perl := _perl_class(src[i])) is not None:
            out.append(_class_regex(perl))
            i += 1
        else:
            code, i = _parse_escape(src, i)
            out.append(re.escape(chr(code)))
    return "".join(out)


def compile_pattern(pattern: str) -> tuple[str, re.Pattern[str] | LinearRegex | None]:
    """Check and compile a cleaned pattern (without its ``!``): its match kind and, for ``REGEXP``, a regex
    whose ``search`` runs in time linear in the path's length (:mod:`builder.linearre`).

    Raises :class:`PatternSyntaxError` for a pattern Docker rejects (or one we cannot translate).
    """
    check_match_syntax(pattern)
    kind, source = go_regexp_source(pattern)
    if kind != REGEXP:
        return kind, None
    # The translation also checks the Go regexp as Go would (RE2 accepts a few escapes Go refuses, ``\C``).
    python_source = go_regexp_to_python(source)
    try:
        # Each "*" of the pattern writes at most one repetition ("[^/]*", ".*" or "(.*/)?").
        return kind, compile_linear(python_source, pattern.count("*"), re2_source=source, flags=re.ASCII)
    except PatternTooComplex as error:
        raise PatternSyntaxError(f"pattern too complex: {error}") from None
    except re.error as error:  # pragma: no cover - the translation only emits valid syntax
        raise PatternSyntaxError(str(error)) from None
