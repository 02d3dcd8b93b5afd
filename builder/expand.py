"""Shell-word expansion with BuildKit's exact rules.

This is the behaviour of BuildKit's Dockerfile shell lexer (``frontend/dockerfile/shell``): quote removal,
escapes, ``$v``/``${v}`` references and the modifiers ``:- - :+ + :? ? # ## % %% / //``. It is not a shell:
there is no command substitution, no arithmetic, no field splitting except in :func:`expand_words`, and
positional or special parameters (``$1``, ``$@``, ``$$`` ...) are simply looked up like any name, so they
expand to the empty string unless the environment holds them.

The functions are pure: they read ``env`` (a mapping, names compared exactly as on Linux) and never change
it. A malformed word raises :class:`ExpansionError` with BuildKit's message text and no span; the caller
attaches the instruction's span with ``error.with_span(...)``. ``error.offset`` is the index in the word of
the construct that failed (the ``$`` of a reference or the opening quote), for a caret.

Keyword options mirror BuildKit's lexer switches, which some instructions use:

* ``raw_quotes``: keep quote characters in the result (still honouring their meaning);
* ``raw_escapes``: keep escape characters in the result;
* ``process_quotes=False``: quotes are ordinary characters (heredoc bodies);
* ``skip_unset``: leave references to unset names as written instead of expanding them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from builder.errors import SyntaxProblem

__all__ = ["ExpansionError", "expand_word", "expand_words", "expand_word_with_matches"]

_EOF = ""
# BuildKit reads words with Go's text/scanner, which drops a byte-order mark at the very start.
_BOM = "\ufeff"
# The characters Go's unicode.IsSpace accepts (Python's str.isspace also accepts \x1c-\x1f, Go does not).
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
_SPECIAL_PARAMS = frozenset("@*#?-$!0")
# Go's string(rune) of the scanner's EOF (-1) is the replacement character; it shows up in messages.
_GO_EOF_TEXT = "\ufffd"


class ExpansionError(SyntaxProblem):
    """A word could not be expanded. ``offset`` is the index in the word of the failing construct."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class _Failure(Exception):
    """Internal: an unwrapped BuildKit error message and where it arose."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def _go_quote(text: str) -> str:
    """Go's ``%q`` of a string: the form BuildKit's messages quote words in."""
    out = ['"']
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable() and not 0xD800 <= code <= 0xDFFF:
            out.append(ch)
        elif ch in named:
            out.append(named[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def _is_digit(ch: str) -> bool:
    # Go's unicode.IsDigit is exactly category Nd, which is what str.isdecimal tests.
    return ch.isdecimal()


class _Words:
    """Field splitting of the result, as BuildKit's ProcessWords does it."""

    __slots__ = ("words", "buf", "in_word")

    def __init__(self) -> None:
        self.words: list[str] = []
        self.buf: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch in _GO_SPACE:
            if self.in_word and self.buf:
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


class _Lexer:
    """One pass over one word; mirrors the structure of BuildKit's shellWord so the corner cases agree."""

    def __init__(self, word: str, env: Mapping[str, str], escape: str, options: dict[str, bool]) -> None:
        self.s = word
        self.pos = 1 if word.startswith(_BOM) else 0
        self.env = env
        self.escape = escape
        self.raw_quotes = options["raw_quotes"]
        self.raw_escapes = options["raw_escapes"]
        self.process_quotes = options["process_quotes"]
        self.skip_unset = options["skip_unset"]
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    def peek(self) -> str:
        return self.s[self.pos] if self.pos < len(self.s) else _EOF

    def next(self) -> str:
        if self.pos < len(self.s):
            self.pos += 1
            return self.s[self.pos - 1]
        return _EOF

    def lookup(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            self.matched.add(name)
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    def stop_on(self, stop: str, raw_escapes: bool, words: _Words | None = None) -> str:
        """Read up to ``stop`` (consumed) or, with ``stop`` empty, to the end; returns the expanded text."""
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            return self._stop_on(stop, words)
        finally:
            self.raw_escapes = saved

    def _stop_on(self, stop: str, words: _Words | None) -> str:
        result: list[str] = []
        while (ch := self.peek()) != _EOF:
            if stop and ch == stop:
                self.next()
                return "".join(result)
            if ch == "$":
                text = self.dollar()
                result.append(text)
                if words is not None:
                    words.add_string(text)
            elif self.process_quotes and ch in "'\"":
                text = self.single_quote() if ch == "'" else self.double_quote()
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
                    if ch == _EOF:
                        break
                    if words is not None:
                        words.add_raw(ch)
                elif words is not None:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise _Failure(f"unexpected end of statement while looking for matching {stop}", self.pos)
        return "".join(result)

    def single_quote(self) -> str:
        start = self.pos
        opening = self.next()
        result = [opening] if self.raw_quotes else []
        while True:
            ch = self.next()
            if ch == _EOF:
                raise _Failure("unexpected end of statement while looking for matching single-quote", start)
            if ch == "'":
                if self.raw_quotes:
                    result.append(ch)
                return "".join(result)
            result.append(ch)

    def double_quote(self) -> str:
        start = self.pos
        opening = self.next()
        result = [opening] if self.raw_quotes else []
        while True:
            ch = self.peek()
            if ch == _EOF:
                raise _Failure("unexpected end of statement while looking for matching double-quote", start)
            if ch == '"':
                self.next()
                if self.raw_quotes:
                    result.append(ch)
                return "".join(result)
            if ch == "$":
                result.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                if self.raw_escapes:
                    result.append(ch)
                following = self.peek()
                if following == _EOF:
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
        self.next()
        following = self.peek()
        if following == _EOF:
            raise _Failure("syntax error: missing '}'", start)
        if following in "{}:":
            raise _Failure("syntax error: bad substitution", start)
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
            raise _Failure(f"unsupported modifier ({chs}) in substitution", start)
        raw = ch in ("#", "%")
        if null_is_unset and raw:
            raise _Failure(f"unsupported modifier ({chs}) in substitution", start)
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
                raise _Failure(f"{name}: {word or 'is not allowed to be unset'}", start)
            if null_is_unset and value == "":
                raise _Failure(f"{name}: {word or 'is not allowed to be empty'}", start)
            return value
        if ch in ("#", "%"):
            greedy = word.startswith(ch)
            if greedy:
                word = word[1:]
            try:
                if ch == "%":
                    return _trim_suffix(word, value, greedy)
                return _trim_prefix(word, value, greedy)
            except _PatternError as error:
                raise _Failure(f"invalid pattern ({word}) in substitution: {error}", start) from None
        raise _Failure(f"unsupported modifier ({chs}) in substitution", start)

    def _nested(self, stop: str, raw: bool, eof_message: str, start: int) -> str:
        try:
            return self.stop_on(stop, raw)
        except _Failure:
            if self.peek() == _EOF:
                raise _Failure(eof_message, start) from None
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
            regex = _shell_pattern_regex(pattern, greedy=True, anchored=False)
        except _PatternError as error:
            raise _Failure(f"invalid pattern ({pattern}) in substitution: {error}", start) from None
        if replace_all:
            return _go_replace_all(regex, value, replacement)
        match = regex.search(value)
        if match is None:
            return value
        return value[: match.start()] + replacement + value[match.end() :]


class _PatternError(Exception):
    pass


def _shell_pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """The regex for a ``${v#p}``/``${v/p/r}`` pattern: ``*`` and ``?`` wildcards, ``\\`` escapes, no classes."""
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
            following = pattern[i] if i < n else _EOF
            if following in ("}", "/") and following:
                continue  # the escape only protected the delimiter; it is not part of the pattern
            i += 1
            if following not in ("*", "?", "\\") or not following:
                raise _PatternError(f"invalid escape '\\{following or _GO_EOF_TEXT}'")
            out.append(re.escape(following))
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _shell_pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
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


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # Regexes find the leftmost match, so the shortest or longest suffix is found by reversing both sides.
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def _template_name(template: str, i: int) -> tuple[str, int] | None:
    """The name of a ``$name`` or ``${name}`` reference starting at ``i``, and where it ends."""
    brace = template.startswith("{", i)
    start = end = i + brace
    while end < len(template) and (
        _is_letter(template[end]) or _is_digit(template[end]) or template[end] == "_"
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


def _go_replace_all(regex: re.Pattern[str], value: str, template: str) -> str:
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


def _run(
    word: str, env: Mapping[str, str], escape: str, options: dict[str, bool], words: _Words | None
) -> tuple[str, _Lexer]:
    lexer = _Lexer(word, env, escape, options)
    try:
        return lexer.stop_on(_EOF, lexer.raw_escapes, words), lexer
    except _Failure as failure:
        raise ExpansionError(
            f"failed to process {_go_quote(word)}: {failure.message}", failure.offset
        ) from None


def _options(raw_quotes: bool, raw_escapes: bool, process_quotes: bool, skip_unset: bool) -> dict[str, bool]:
    return {
        "raw_quotes": raw_quotes,
        "raw_escapes": raw_escapes,
        "process_quotes": process_quotes,
        "skip_unset": skip_unset,
    }


def expand_word(
    word: str,
    env: Mapping[str, str],
    escape: str = "\\",
    *,
    raw_quotes: bool = False,
    raw_escapes: bool = False,
    process_quotes: bool = True,
    skip_unset: bool = False,
) -> str:
    """Expand ``word`` as one word (BuildKit's ProcessWord): quotes removed, whitespace kept."""
    if not (set(word) & {"$", "'", '"', escape, _BOM}):
        return word  # nothing to expand: by far the common case
    options = _options(raw_quotes, raw_escapes, process_quotes, skip_unset)
    return _run(word, env, escape, options, None)[0]


def expand_words(
    word: str,
    env: Mapping[str, str],
    escape: str = "\\",
    *,
    raw_quotes: bool = False,
    raw_escapes: bool = False,
    process_quotes: bool = True,
    skip_unset: bool = False,
) -> list[str]:
    """Expand ``word`` and split it into fields (BuildKit's ProcessWords).

    Unquoted whitespace, including whitespace that a ``$`` reference produced, separates fields; quoted
    and escaped text never does. Empty fields are dropped.
    """
    words = _Words()
    _run(word, env, escape, _options(raw_quotes, raw_escapes, process_quotes, skip_unset), words)
    return words.finish()


def expand_word_with_matches(
    word: str,
    env: Mapping[str, str],
    escape: str = "\\",
    *,
    raw_quotes: bool = False,
    raw_escapes: bool = False,
    process_quotes: bool = True,
    skip_unset: bool = False,
) -> tuple[str, set[str], set[str]]:
    """Like :func:`expand_word`, also returning the names looked up and found, and those not set.

    A name counts even when its value was not used (``${FOO+x}`` looks FOO up); names inside a default
    that was not needed are still looked up, because BuildKit expands the default before choosing.
    """
    result, lexer = _run(word, env, escape, _options(raw_quotes, raw_escapes, process_quotes, skip_unset), None)
    return result, lexer.matched, lexer.unmatched
