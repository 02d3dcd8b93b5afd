"""Finding heredoc markers (``<<EOF``, ``<<-'EOF'``, ``3<<EOF``) the way BuildKit does.

BuildKit does not look for ``<<`` with a regular expression over the line. It splits the whole logical line
into shell words with its shell lexer (quotes and escapes kept raw, unset variables left as written), and
tests each word against ``^(\\d*)<<(-?)\\s*([^<]*)$``. The delimiter word is then lexed twice, once keeping
quotes and once removing them: if the number of quote characters differs, part of the word was quoted and
the body is not expanded (``<<'EOF'``, ``<<E"O"F``). That is why ``RUN '<<EOF'`` has no heredoc, why
``<<eo\\'f`` names ``eo'f`` and still expands, and why ``<< EOF`` (the lexer keeps the blanks after ``<<``
in the word) counts.

`_ShellWords` is a port of the part of BuildKit's ``shell.Lex.ProcessWords`` that matters here: with an empty
environment and ``SkipUnsetEnv`` every ``$x``/``${x…}`` stays as written, so only word boundaries and the
raw/unraw treatment of quotes and escapes change the outcome. Its escape character is always ``\\``, whatever
``# escape=`` says, as upstream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from builder.syntax.gocompat import is_space

_ESCAPE = "\\"
_MARKER = re.compile(r"([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)\Z")
_MAX_UINT64 = (1 << 64) - 1


class LexError(Exception):
    """The shell lexer could not split the text (an unterminated quote, a bad ``${``)."""


@dataclass(frozen=True, slots=True)
class Marker:
    """One heredoc marker word. ``name`` is the terminator after quote removal."""

    name: str
    fd: int
    expand: bool
    chomp: bool


@dataclass(frozen=True, slots=True)
class FoundMarker:
    """A marker found in a line: the marker, the word as written (raw) and its offset in the line."""

    marker: Marker
    word: str
    offset: int


class _Words:
    """BuildKit's ``wordsStruct``: collects words, tracking where each one starts."""

    def __init__(self) -> None:
        self.word = ""
        self.start = 0
        self.in_word = False
        self.words: list[tuple[str, int]] = []

    def add_char(self, ch: str, pos: int) -> None:
        if is_space(ch):
            if self.in_word and self.word:
                self.words.append((self.word, self.start))
                self.word = ""
                self.in_word = False
        else:
            self.add_raw_string(ch, pos)

    def add_raw_string(self, text: str, pos: int) -> None:
        if not self.word:
            self.start = pos
        self.word += text
        self.in_word = True

    def add_string(self, text: str, pos: int) -> None:
        for ch in text:
            self.add_char(ch, pos)

    def result(self) -> list[tuple[str, int]]:
        if self.word:
            self.words.append((self.word, self.start))
            self.word = ""
            self.in_word = False
        return self.words


class _ShellWords:
    def __init__(self, text: str, *, raw_quotes: bool, raw_escapes: bool) -> None:
        self.text = text
        # Go's text/scanner skips a byte order mark at the very start.
        self.pos = 1 if text.startswith("\ufeff") else 0
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def next(self) -> str | None:
        if self.pos >= len(self.text):
            return None
        self.pos += 1
        return self.text[self.pos - 1]

    def words(self) -> list[tuple[str, int]]:
        return self.process_until(None, self.raw_escapes)[1]

    def process_until(self, stop: str | None, raw_escapes: bool) -> tuple[str, list[tuple[str, int]]]:
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            result: list[str] = []
            words = _Words()
            while (ch := self.peek()) is not None:
                start = self.pos
                if stop is not None and ch == stop:
                    self.next()
                    return "".join(result), words.result()
                if ch == "$":
                    piece = self.dollar()
                    result.append(piece)
                    words.add_string(piece, start)
                elif ch in "<'\"":
                    piece = {"<": self.possible_heredoc, "'": self.single_quote, '"': self.double_quote}[ch]()
                    result.append(piece)
                    words.add_raw_string(piece, start)
                else:
                    self.next()
                    if ch == _ESCAPE:
                        if self.raw_escapes:
                            words.add_raw_string(ch, start)
                            result.append(ch)
                        escaped = self.next()
                        if escaped is None:
                            break
                        ch = escaped
                        words.add_raw_string(ch, start)
                    else:
                        words.add_char(ch, start)
                    result.append(ch)
            if stop is not None:
                raise LexError(f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.result()
        finally:
            self.raw_escapes = saved

    def single_quote(self) -> str:
        quote = self.next()
        out = [quote] if self.raw_quotes else []
        while True:
            ch = self.next()
            if ch is None:
                raise LexError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def double_quote(self) -> str:
        quote = self.next()
        out = [quote] if self.raw_quotes else []
        while True:
            ch = self.peek()
            if ch is None:
                raise LexError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            self.next()
            if ch == _ESCAPE:
                if self.raw_escapes:
                    out.append(ch)
                following = self.peek()
                if following is None:
                    continue
                if following in ('"', "$", _ESCAPE):
                    ch = self.next()
            out.append(ch)

    def possible_heredoc(self) -> str:
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        blanks = []
        while (ch := self.peek()) is not None and ch in " \t\r":
            blanks.append(ch)
            self.next()
        return "<<" + "".join(blanks)

    def dollar(self) -> str:
        """``$name`` / ``${…}`` with nothing set: returned as written (BuildKit's SkipUnsetEnv)."""
        self.next()
        if self.peek() != "{":
            name = self.name()
            return "$" + name if name else "$"
        self.next()
        ch = self.peek()
        if ch is None:
            raise LexError("syntax error: missing '}'")
        if ch in "{}:":
            raise LexError("syntax error: bad substitution")
        name = self.name()
        op = self.next()
        if op == "}":
            return "${" + name + "}"
        modifier = op or "\ufffd"
        if op == ":":
            op = self.next()
            modifier += op or "\ufffd"
        # Go falls through from ':' into the modifier case whatever follows the colon.
        if modifier.startswith(":") or (op is not None and op in "+-?#%"):
            raw = op is not None and op in "#%"
            word = self._until("}", raw_escapes=raw, missing="syntax error: missing '}'")
            return "${" + name + modifier + word + "}"
        if op == "/":
            if self.peek() == "/":
                self.next()
            pattern = self._until("/", raw_escapes=True, missing="syntax error: missing '/' in ${}")
            replacement = self._until("}", raw_escapes=True, missing="syntax error: missing '}'")
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        raise LexError(f"unsupported modifier ({modifier}) in substitution")

    def _until(self, stop: str, *, raw_escapes: bool, missing: str) -> str:
        try:
            return self.process_until(stop, raw_escapes)[0]
        except LexError:
            if self.peek() is None:
                raise LexError(missing) from None
            raise

    def name(self) -> str:
        out: list[str] = []
        while (ch := self.peek()) is not None:
            if not out and ch.isdecimal():
                while (digit := self.peek()) is not None and digit.isdecimal():
                    out.append(digit)
                    self.next()
                return "".join(out)
            if not out and ch in "@*#?-$!0":
                self.next()
                return ch
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            out.append(ch)
            self.next()
        return "".join(out)


def shell_words(text: str, *, raw_quotes: bool, raw_escapes: bool) -> list[tuple[str, int]]:
    """Split ``text`` like BuildKit's ``ProcessWords`` with an empty environment: (word, start offset) pairs.

    Raises LexError where BuildKit's lexer returns an error.
    """
    return _ShellWords(text, raw_quotes=raw_quotes, raw_escapes=raw_escapes).words()


def parse_marker(word: str) -> Marker | None:
    """BuildKit's ``ParseHeredoc``: the marker in ``word``, None if it is not one; LexError if it is broken."""
    match = _MARKER.match(word)
    if match is None:
        return None
    digits, dash, rest = match.groups()
    if not rest:
        return None
    words = shell_words(rest, raw_quotes=False, raw_escapes=False)
    if len(words) != 1:
        return None
    raw_words = shell_words(rest, raw_quotes=True, raw_escapes=False)
    if len(raw_words) != len(words):
        raise LexError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name, raw = words[0][0], raw_words[0][0]
    expand = name.count("'") + name.count('"') == raw.count("'") + raw.count('"')
    fd = min(int(digits), _MAX_UINT64) if digits else 0
    return Marker(name=name, fd=fd, expand=expand, chomp=dash == "-")


def parse_marker_quietly(word: str) -> Marker | None:
    """BuildKit's ``MustParseHeredoc``: like `parse_marker`, but None for a broken marker too."""
    try:
        return parse_marker(word)
    except LexError:
        return None


def find_markers(line: str) -> list[FoundMarker]:
    """BuildKit's ``heredocsFromLine``: every marker in a logical line, in order. LexError if one is broken.

    A line the lexer cannot split (an unterminated quote) has no markers, as upstream.
    """
    try:
        words = shell_words(line, raw_quotes=True, raw_escapes=True)
    except LexError:
        return []
    found = []
    for word, offset in words:
        marker = parse_marker(word)
        if marker is not None:
            found.append(FoundMarker(marker, word, offset))
    return found


def chomp(content: str) -> str:
    """BuildKit's ``ChompHeredocContent``: remove the leading tabs of every line (for ``<<-``)."""
    return re.sub(r"(?m)^\t+", "", content)
