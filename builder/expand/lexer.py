"""The lexer behind :mod:`builder.expand`: one pass over one word, shaped like BuildKit's shellWord.

Keeping BuildKit's structure (a scanner with peek/next, a stop character per nesting level, the escape
handling of each quoting context) is what makes the corner cases agree with it.
"""

from __future__ import annotations

from collections.abc import Mapping

from builder.expand.limits import MAX_NESTING, MAX_WORD_CHARS, TooLarge, word_too_long
from builder.expand.patterns import PatternError, go_replace_all, shell_pattern_regex, trim_prefix, trim_suffix

EOF = ""
# BuildKit reads words with Go's text/scanner, which drops a byte-order mark at the very start.
BOM = "\ufeff"
# The characters Go's unicode.IsSpace accepts (Python's str.isspace also accepts \x1c-\x1f, Go does not).
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
_SPECIAL_PARAMS = frozenset("@*#?-$!0")
# Go's string(rune) of the scanner's EOF (-1) is the replacement character; it shows up in messages.
_GO_EOF_TEXT = "\ufffd"


class Failure(Exception):
    """Internal: an unwrapped BuildKit error message and where it arose."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def _is_digit(ch: str) -> bool:
    # Go's unicode.IsDigit is exactly category Nd, which is what str.isdecimal tests.
    return ch.isdecimal()


class Words:
    """Field splitting of the result, as BuildKit's ProcessWords does it."""

    __slots__ = ("words", "buf", "in_word")

    def __init__(self) -> None:
        self.words: list[str] = []
        self.buf: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch in _GO_SPACE:
            # BuildKit flushes only a non-empty word: an empty quoted string ("") before a space makes none
            if self.in_word and any(self.buf):
                self.words.append("".join(self.buf))
                self.buf = []
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def finish(self) -> list[str]:
        word = "".join(self.buf)
        if word:
            self.words.append(word)
            self.buf = []
            self.in_word = False
        return self.words


class Lexer:
    """One pass over one word; mirrors the structure of BuildKit's shellWord so the corner cases agree."""

    def __init__(self, word: str, env: Mapping[str, str], escape: str, options: dict[str, bool]) -> None:
        self.s = word
        self.pos = 1 if word.startswith(BOM) else 0
        self.env = env
        self.escape = escape
        self.raw_quotes = options["raw_quotes"]
        self.raw_escapes = options["raw_escapes"]
        self.process_quotes = options["process_quotes"]
        self.skip_unset = options["skip_unset"]
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()
        # What references may add to any one level of the word (see builder.expand.limits): the written
        # text itself never counts against it, so a long heredoc body is not refused for its length.
        self.room = MAX_WORD_CHARS + len(word)
        self.depth = 0

    def peek(self) -> str:
        return self.s[self.pos] if self.pos < len(self.s) else EOF

    def next(self) -> str:
        if self.pos < len(self.s):
            self.pos += 1
            return self.s[self.pos - 1]
        return EOF

    def lookup(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            self.matched.add(name)
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    def stop_on(self, stop: str, raw_escapes: bool, words: Words | None = None) -> str:
        """Read up to ``stop`` (consumed) or, with ``stop`` empty, to the end; returns the expanded text."""
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            return self._stop_on(stop, words)
        finally:
            self.raw_escapes = saved

    def _grown(self, size: int, start: int) -> int:
        """``size`` if a level of the word may be that long, else the failure at ``start``."""
        if size > self.room:
            raise Failure(word_too_long().message, start)
        return size

    def _stop_on(self, stop: str, words: Words | None) -> str:
        result: list[str] = []
        size = 0  # what references added at this level
        while (ch := self.peek()) != EOF:
            if stop and ch == stop:
                self.next()
                return "".join(result)
            if ch == "$":
                start = self.pos
                text = self.dollar()
                size = self._grown(size + len(text), start)
                result.append(text)
                if words is not None:
                    words.add_string(text)
            elif self.process_quotes and ch in "'\"":
                start = self.pos
                text = self.single_quote() if ch == "'" else self.double_quote()
                size = self._grown(size + len(text), start)
                result.append(text)
                if words is not None:
                    words.add_raw(text)
            else:
                ch = self.next()
                if ch == self.escape:
                    if self.raw_escapes:
                        result.append(ch)
                        if words is not None:
                            words.add_raw(ch)
                    ch = self.next()
                    if ch == EOF:
                        break
                    if words is not None:
                        words.add_raw(ch)
                elif words is not None:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise Failure(f"unexpected end of statement while looking for matching {stop}", self.pos)
        return "".join(result)

    def single_quote(self) -> str:
        start = self.pos
        opening = self.next()
        result = [opening] if self.raw_quotes else []
        while True:
            ch = self.next()
            if ch == EOF:
                raise Failure("unexpected end of statement while looking for matching single-quote", start)
            if ch == "'":
                if self.raw_quotes:
                    result.append(ch)
                return "".join(result)
            result.append(ch)

    def double_quote(self) -> str:
        start = self.pos
        opening = self.next()
        result = [opening] if self.raw_quotes else []
        size = 0  # what references added inside these quotes
        while True:
            ch = self.peek()
            if ch == EOF:
                raise Failure("unexpected end of statement while looking for matching double-quote", start)
            if ch == '"':
                self.next()
                if self.raw_quotes:
                    result.append(ch)
                return "".join(result)
            if ch == "$":
                at = self.pos
                text = self.dollar()
                size = self._grown(size + len(text), at)
                result.append(text)
                continue
            ch = self.next()
            if ch == self.escape:
                if self.raw_escapes:
                    result.append(ch)
                following = self.peek()
                if following == EOF:
                    # BuildKit drops an escape at the very end; the missing quote is reported next.
                    continue
                if following in ('"', "$", self.escape):
                    ch = self.next()
            result.append(ch)

    def name(self) -> str:
        """A variable name: letters, digits and ``_``; or a run of digits; or one special parameter."""
        start = self.pos
        s = self.s
        if start < len(s):
            first = s[start]
            if _is_digit(first):
                end = start
                while end < len(s) and _is_digit(s[end]):
                    end += 1
                self.pos = end
                return s[start:end]
            if first in _SPECIAL_PARAMS:
                self.pos += 1
                return first
        end = start
        while end < len(s) and (_is_letter(s[end]) or _is_digit(s[end]) or s[end] == "_"):
            end += 1
        self.pos = end
        return s[start:end]

    def dollar(self) -> str:
        """Expand the reference at the current ``$``; failures point at that ``$``."""
        start = self.pos
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.lookup(name)
            if not found and self.skip_unset:
                return "$" + name
            return value
        # ${…} nests (its word may hold more): bounded, so that no input can exhaust Python's stack.
        if self.depth >= MAX_NESTING:
            raise Failure(f'"${{" nested more than {MAX_NESTING} deep (pybuild\'s limit)', start)
        self.depth += 1
        try:
            return self._braced(start)
        finally:
            self.depth -= 1

    def _braced(self, start: int) -> str:
        """The rest of ``dollar`` for a ``${…}`` reference whose ``$`` is at ``start``."""
        self.next()
        following = self.peek()
        if following == EOF:
            raise Failure("syntax error: missing '}'", start)
        if following in "{}:":
            raise Failure("syntax error: bad substitution", start)
        name = self.name()
        ch = self.next()
        chs = ch or _GO_EOF_TEXT
        if ch == "}":
            value, found = self.lookup(name)
            if not found and self.skip_unset:
                return "${" + name + "}"
            return value
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            chs += ch or _GO_EOF_TEXT
        elif ch == "/":
            return self._replace(name, start)
        elif ch not in ("+", "-", "?", "#", "%"):
            raise Failure(f"unsupported modifier ({chs}) in substitution", start)
        raw = ch in ("#", "%")
        if null_is_unset and raw:
            raise Failure(f"unsupported modifier ({chs}) in substitution", start)
        word = self._nested("}", raw, "syntax error: missing '}'", start)
        value, found = self.lookup(name)
        if self.skip_unset and not found:
            return "${" + name + chs + word + "}"
        if ch == "-":
            return word if not found or (null_is_unset and value == "") else value
        if ch == "+":
            return "" if not found or (null_is_unset and value == "") else word
        if ch == "?":
            if not found:
                raise Failure(f"{name}: {word or 'is not allowed to be unset'}", start)
            if null_is_unset and value == "":
                raise Failure(f"{name}: {word or 'is not allowed to be empty'}", start)
            return value
        if ch in ("#", "%"):
            greedy = word.startswith(ch)
            if greedy:
                word = word[1:]
            try:
                if ch == "%":
                    return trim_suffix(word, value, greedy)
                return trim_prefix(word, value, greedy)
            except PatternError as error:
                raise Failure(f"invalid pattern ({word}) in substitution: {error}", start) from None
        raise Failure(f"unsupported modifier ({chs}) in substitution", start)

    def _nested(self, stop: str, raw: bool, eof_message: str, start: int) -> str:
        try:
            return self.stop_on(stop, raw)
        except Failure:
            if self.peek() == EOF:
                raise Failure(eof_message, start) from None
            raise

    def _replace(self, name: str, start: int) -> str:
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        pattern = self._nested("/", True, "syntax error: missing '/' in ${}", start)
        replacement = self._nested("}", True, "syntax error: missing '}'", start)
        value, found = self.lookup(name)
        if self.skip_unset and not found:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        try:
            regex = shell_pattern_regex(pattern, greedy=True, anchored=False)
        except PatternError as error:
            raise Failure(f"invalid pattern ({pattern}) in substitution: {error}", start) from None
        if replace_all:
            try:
                return go_replace_all(regex, value, replacement, self.room)
            except TooLarge as error:
                raise Failure(error.message, start) from None
        match = regex.search(value)
        if match is None:
            return value
        return value[: match.start()] + replacement + value[match.end() :]
