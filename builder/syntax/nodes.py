"""BuildKit's raw node model: one logical line → keyword, flags and arguments, before typing.

The lark grammar (``grammar/buildfile.lark``) splits a line into its keyword, its ``--flags`` and the rest,
and recognises the JSON exec form. What the rest becomes depends on the instruction, as in BuildKit's
``line_parsers.go`` (see the table in ``tests/conformance/buildkit-parser/README.md``): one string for
RUN/CMD shell form, whitespace-split words for FROM/COPY, quote-aware words with quotes kept for
ENV/LABEL/ARG, key/value/separator triples for ENV/LABEL, a nested node for ONBUILD. Unknown keywords are
kept with no arguments; rejecting them is the typed layer's job, as in BuildKit.

Every argument remembers its offset in the logical line, so later errors can point at it. ``RawNode.dump``
prints BuildKit's ``Node.Dump()`` format, which the conformance vectors compare byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from builder.gofmt import quote, quote_list
from builder.syntax.gocompat import is_space, trim_left_space, trim_space
from builder.syntax.grammar import parser
from builder.syntax.heredoc import Marker
from builder.syntax.jsonform import NotStringArray, parse_json
from builder.syntax.source import LogicalLine

#: ONBUILD ONBUILD … nests nodes; past this depth the line is refused rather than recursed into.
_MAX_ONBUILD_DEPTH = 32
_WORD = re.compile(r"[^\t\v\f\r ]+")
_BLANK_RUN = re.compile(r"[\t\v\f\r ]+")
HEREDOC_KEYWORDS = frozenset({"run", "copy", "add"})


@dataclass
class RawArg:
    """An argument node: its string, its offset in the line, or (ONBUILD only) a nested instruction."""

    value: str
    offset: int
    child: RawNode | None = None


@dataclass
class RawFlag:
    """A ``--flag`` word, decoded (quotes removed, escapes applied), as BuildKit hands it on."""

    text: str
    offset: int


@dataclass
class RawHeredoc:
    """A heredoc as the parser reads it: the body is raw (not chomped), each line with its newline."""

    marker: Marker
    word: str
    offset: int
    content: str
    end_line: int


@dataclass
class RawNode:
    keyword: str
    offset: int
    flags: list[RawFlag]
    args: list[RawArg]
    json: bool
    #: the text this node was parsed from: the logical line, or the trigger text of an ONBUILD
    original: str
    original_offset: int
    #: where the arguments start (or would start): where "missing argument" errors point
    rest_offset: int
    line: LogicalLine
    heredocs: list[RawHeredoc] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0

    def dump(self) -> str:
        """BuildKit's ``Node.Dump()`` of this instruction, e.g. ``copy ["--from=a"] "x" "/y"``."""
        out = [self.keyword.lower()]
        if self.flags:
            out.append(" " + quote_list([flag.text for flag in self.flags]))
        for arg in self.args:
            out.append(" " + (f"({arg.child.dump()})" if arg.child is not None else quote(arg.value)))
        return trim_space("".join(out))

    def effective(self) -> RawNode:
        """The node heredoc rules apply to: an ONBUILD's trigger, else the node itself."""
        if self.keyword.lower() == "onbuild" and self.args and self.args[0].child is not None:
            return self.args[0].child
        return self

    def can_contain_heredoc(self) -> bool:
        node = self.effective()
        return node.keyword.lower() in HEREDOC_KEYWORDS and not node.json


def node_from_line(line: LogicalLine, escape: str) -> RawNode:
    """Parse one logical line into a raw node (BuildKit's ``newNodeFromLine``)."""
    return _node(line, line.text, 0, escape, 0)


def _node(line: LogicalLine, text: str, base: int, escape: str, depth: int) -> RawNode:
    from lark.exceptions import UnexpectedInput

    lead = len(text) - len(trim_left_space(text))
    stripped = trim_space(text)
    at = base + lead
    if not stripped:
        return RawNode("", at, [], [], False, text, base, at, line)
    try:
        tokens = parser().parse(stripped, start="instruction").children
    except UnexpectedInput as error:  # the grammar accepts any line; this would be a grammar bug
        raise line.error("cannot parse this line", at + getattr(error, "pos_in_stream", 0)) from None
    keyword = tokens[0]
    flags: list[RawFlag] = []
    rest, rest_at = "", len(stripped)
    for token in tokens[1:]:
        if token.type == "FLAG":
            decoded = _decode_flag(token.value)
            if decoded != "--":
                flags.append(RawFlag(decoded, at + token.start_pos))
                continue
            # a flag that decodes to "--" (such as --"") ends the flags like a bare --
        if token.type == "REST":
            rest, rest_at = token.value, token.start_pos
        else:
            rest, rest_at = stripped[token.end_pos :], token.end_pos
        break
    args_text = trim_space(rest)
    rest_at = at + rest_at + len(rest) - len(trim_left_space(rest))
    node = RawNode(str(keyword), at + keyword.start_pos, flags, [], False, text, base, rest_at, line)
    parse_args = _DISPATCH.get(str(keyword).lower())
    if parse_args is not None:
        if parse_args is _sub_command and depth >= _MAX_ONBUILD_DEPTH:
            raise line.error("ONBUILD is nested too deeply", node.offset)
        node.args, node.json = parse_args(line, args_text, rest_at, escape, depth)
    return node


def _decode_flag(word: str) -> str:
    """BuildKit's flag word decoding: quotes removed, ``\\`` escapes the next character."""
    out: list[str] = []
    quote_char = None
    i = 0
    while i < len(word):
        ch = word[i]
        if quote_char is None and ch in "'\"":
            quote_char = ch
        elif ch == quote_char:
            quote_char = None
        elif ch == "\\":
            if i + 1 < len(word):
                i += 1
                out.append(word[i])
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# ---- the line parsers: (line, rest, offset of rest, escape, depth) -> (args, is JSON) ----------------


def _ignore(line, rest, at, escape, depth):
    return [], False


def _string(line, rest, at, escape, depth):
    return ([RawArg(rest, at)] if rest else []), False


def _words_by_blanks(rest: str, at: int) -> list[RawArg]:
    return [RawArg(m.group(), at + m.start()) for m in _WORD.finditer(rest)]


def _whitespace_delimited(line, rest, at, escape, depth):
    return _words_by_blanks(rest, at), False


def _json(line: LogicalLine, rest: str, at: int) -> list[RawArg] | None:
    try:
        elements = parse_json(rest)
    except NotStringArray as error:
        hint = "quote every element, or use the shell form"
        raise line.error(str(error), at + error.offset, hint=hint) from None
    return None if elements is None else [RawArg(value, at + offset) for value, offset in elements]


def _maybe_json(line, rest, at, escape, depth):
    if not rest:
        return [], False
    elements = _json(line, rest, at)
    if elements is not None:
        return elements, True
    return [RawArg(rest, at)], False


def _maybe_json_to_list(line, rest, at, escape, depth):
    elements = _json(line, rest, at)
    if elements is not None:
        return elements, True
    return _words_by_blanks(rest, at), False


def _health(line, rest, at, escape, depth):
    """HEALTHCHECK: the first word (CMD, NONE, …), then the rest parsed like CMD."""
    sep = next((k for k, ch in enumerate(rest) if ch in "\t\n\v\f\r "), len(rest))
    if sep == 0:
        return [], False
    after = sep
    while after < len(rest) and rest[after] in "\t\n\v\f\r ":
        after += 1
    command, is_json = _maybe_json(line, rest[after:], at + after, escape, depth)
    return [RawArg(rest[:sep], at), *command], is_json


def _name_or_name_val(line, rest, at, escape, depth):
    return parse_words(rest, escape, at), False


def _name_val(key: str):
    def parse(line, rest, at, escape, depth):
        words = parse_words(rest, escape, at)
        if not words:
            return [], False
        if "=" not in words[0].value:
            # legacy "ENV key value with spaces": the rest of the line, raw, is the value
            blanks = _BLANK_RUN.search(rest)
            if blanks is None:
                raise line.error(f"{key} must have two arguments", at, hint=f"write {key} name=value")
            return [
                RawArg(rest[: blanks.start()], at),
                RawArg(rest[blanks.end() :], at + blanks.end()),
                RawArg("", at),
            ], False
        args = []
        for word in words:
            name, eq, value = word.value.partition("=")
            if not eq:
                raise line.error(
                    f"Syntax error - can't find = in {quote(word.value)}. Must be of the form: name=value",
                    word.offset,
                )
            args += [
                RawArg(name, word.offset),
                RawArg(value, word.offset + len(name) + 1),
                RawArg("=", word.offset + len(name)),
            ]
        return args, False

    return parse


def _sub_command(line, rest, at, escape, depth):
    if not rest:
        return [], False
    child = _node(line, rest, at, escape, depth + 1)
    return [RawArg("", at, child)], False


_DISPATCH = {
    "add": _maybe_json_to_list,
    "arg": _name_or_name_val,
    "cmd": _maybe_json,
    "copy": _maybe_json_to_list,
    "entrypoint": _maybe_json,
    "env": _name_val("ENV"),
    "expose": _whitespace_delimited,
    "from": _whitespace_delimited,
    "healthcheck": _health,
    "label": _name_val("LABEL"),
    "maintainer": _string,
    "onbuild": _sub_command,
    "run": _maybe_json,
    "shell": _maybe_json,
    "stopsignal": _string,
    "user": _string,
    "volume": _maybe_json_to_list,
    "workdir": _string,
}


def parse_words(rest: str, escape: str, at: int = 0) -> list[RawArg]:
    """BuildKit's ``parseWords``: split on blanks, quotes group words and are KEPT, escapes are kept too."""
    words: list[RawArg] = []
    word: list[str] = []
    start = 0
    quote_char = ""
    in_word = in_quote = blank_ok = False
    i, n = 0, len(rest)
    while i < n:
        ch = rest[i]
        if not in_word:
            if is_space(ch):
                i += 1
                continue
            in_word, start = True, i
        if in_quote:
            if ch == quote_char:
                in_quote = False
            if ch == escape and quote_char != "'":
                if i + 1 == n:
                    in_quote = False
                    i += 1
                    continue
                word.append(ch)
                i += 1
                ch = rest[i]
            word.append(ch)
            i += 1
            continue
        if is_space(ch):
            if blank_ok or word:
                words.append(RawArg("".join(word), at + start))
            word, blank_ok, in_word = [], False, False
            i += 1
            continue
        if ch in "'\"":
            quote_char, blank_ok, in_quote = ch, True, True
        if ch == escape:
            if i + 1 == n:
                i += 1
                continue
            word.append(ch)
            i += 1
            ch = rest[i]
        word.append(ch)
        i += 1
    if in_word and (blank_ok or word):
        words.append(RawArg("".join(word), at + start))
    return words
