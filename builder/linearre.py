"""Regular expressions matched in time linear in the text, whatever the pattern.

Docker and BuildKit match ignore patterns and ``${v#p}``/``${v/p/r}`` patterns with Go's regexp package, an
automaton whose running time is linear in the text. Python's ``re`` backtracks: ``**/**/**/…/a`` over one
long path, or ``${x/*a*a*a*a*b/}`` over a long value, takes minutes or forever. So a regex with more than one
repetition runs on RE2 (the ``google-re2`` package), the engine Go's regexp was modelled on, with the same
leftmost-first semantics. A regex with at most one repetition cannot backtrack more than once per position,
and Python's ``re`` is several times faster per call for it, so those stay on ``re``.

Go reads text that is not valid UTF-8 as one U+FFFD per bad byte; Python's file-system decoding keeps each
bad byte as a lone surrogate. RE2 reads UTF-8, so those surrogates become U+FFFD before matching, which is
exactly Go's reading and keeps every index the same (one character for one). Take matched text from the
original string by the match's span, not from the match object.
"""

from __future__ import annotations

import re

#: Python's surrogateescape form of each byte that is not UTF-8, to what Go's decoder reads: U+FFFD.
_BAD_BYTES = {code: "\ufffd" for code in range(0xDC80, 0xDD00)}


class PatternTooComplex(ValueError):
    """RE2 refused to compile the regex (it needs more memory than RE2 allows for one regex)."""


class LinearRegex:
    """A regex matched by RE2, with the parts of ``re.Pattern``'s interface that pybuild uses: ``search``,
    ``match`` and ``fullmatch`` (``pos`` included) return a match object with ``span``/``start``/``end``, or
    None.

    ``pattern`` is the RE2 source; ``match`` also lets pathspec accept the object as a compiled regex.
    """

    __slots__ = ("pattern", "_regex")

    def __init__(self, source: str) -> None:
        import re2  # imported here: only a pattern with several repetitions needs it (~2 ms)

        self.pattern = source
        try:
            self._regex = re2.compile(
                source.translate(_BAD_BYTES)
            )  # a bad byte in a pattern reads as U+FFFD too
        except re2.error as error:
            raise PatternTooComplex(str(error)) from None

    def search(self, text: str, pos: int = 0) -> object | None:
        if not text.isascii():
            text = text.translate(_BAD_BYTES)
        return self._regex.search(text, pos)

    def match(self, text: str, pos: int = 0) -> object | None:
        if not text.isascii():
            text = text.translate(_BAD_BYTES)
        return self._regex.match(text, pos)

    def fullmatch(self, text: str, pos: int = 0) -> object | None:
        if not text.isascii():
            text = text.translate(_BAD_BYTES)
        return self._regex.fullmatch(text, pos)


def compile_linear(
    python_source: str, repetitions: int, *, re2_source: str | None = None, flags: int = 0
) -> re.Pattern[str] | LinearRegex:
    """``python_source`` compiled by ``re`` when ``repetitions`` (an upper bound on the ``*``, ``+`` and
    ``{n,}`` operators in it) is at most one, else ``re2_source`` (default: the same text, for a regex in the
    syntax both share) by RE2. ``flags`` are ``re``'s; RE2's defaults already match Go's (``\\d``, ``\\w``,
    ``\\s``, ``\\b`` are ASCII; ``.`` does not match a newline). Raises ``re.error`` or
    :class:`PatternTooComplex`."""
    if repetitions <= 1:
        return re.compile(python_source, flags)
    return LinearRegex(python_source if re2_source is None else re2_source)
