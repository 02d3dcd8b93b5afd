"""Matching ignore-pattern regexps in time linear in the path's length, whatever the pattern.

patternmatcher's regexps run on Go's regexp package, an automaton whose running time is linear in the
text. Python's ``re`` backtracks: ``**/**/**/…/a`` or ``*a*a*a*a*b`` over one long path takes minutes. So a
regexp with more than one repetition runs on RE2 (the ``google-re2`` package), the engine Go's regexp was
modelled on, which reads Go's regexp syntax as it is. A regexp with at most one repetition cannot backtrack
more than once per position, and Python's ``re`` is several times faster per call for it, so those keep the
translated Python regex (most real patterns: ``*.log``, ``docs/*.md``).

Go reads a file name that is not valid UTF-8 as one U+FFFD per bad byte; Python's file-system decoding keeps
each bad byte as a lone surrogate. RE2 reads UTF-8, so those surrogates become U+FFFD before matching, which
is exactly Go's reading.
"""

from __future__ import annotations

import re

#: Python's surrogateescape form of each byte that is not UTF-8, to what Go's decoder reads: U+FFFD.
_BAD_BYTES = {code: "\ufffd" for code in range(0xDC80, 0xDD00)}


class PatternTooComplex(ValueError):
    """RE2 refused to compile the regexp (it needs more memory than RE2 allows for one regexp)."""


class LinearRegex:
    """A compiled Go regexp matched by RE2; ``search`` has ``re.Pattern.search``'s contract for a truth test.

    ``pattern`` is the Go source; ``match`` exists so pathspec accepts the object as a compiled regex.
    """

    __slots__ = ("pattern", "_regex")

    def __init__(self, go_source: str) -> None:
        import re2  # imported here: only a context with a many-star ignore pattern needs it (~2 ms)

        self.pattern = go_source
        try:
            self._regex = re2.compile(go_source)
        except re2.error as error:
            raise PatternTooComplex(str(error)) from None

    def search(self, text: str) -> object | None:
        """A match object if the regexp matches somewhere in ``text`` (its anchors decide where), else None."""
        if not text.isascii():
            text = text.translate(_BAD_BYTES)
        return self._regex.search(text)

    def match(self, text: str) -> object | None:
        """Like ``re.Pattern.match``: a match starting at the beginning of ``text``."""
        if not text.isascii():
            text = text.translate(_BAD_BYTES)
        return self._regex.match(text)


def repetitions(pattern: str) -> int:
    """An upper bound on the repetition operators patternmatcher writes for ``pattern``: one per ``*``."""
    return pattern.count("*")


def compile_linear(pattern: str, go_source: str, python_source: str) -> re.Pattern[str] | LinearRegex:
    """The regex to match ``pattern`` with: Python's ``re`` for ``python_source`` when it holds at most one
    repetition (linear-time there), else RE2 on ``go_source``. Raises :class:`PatternTooComplex` or
    ``re.error``."""
    if repetitions(pattern) <= 1:
        return re.compile(python_source, re.ASCII)
    return LinearRegex(go_source)
