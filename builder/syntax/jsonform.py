"""The JSON form of RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK (exec form) and of ADD/COPY/VOLUME.

BuildKit decides with Go's ``json.Unmarshal`` of the whole rest of the line into ``[]interface{}``: anything
Go rejects (single quotes, a missing bracket, trailing text, a number beyond float64, nesting deeper than
10000) is not JSON, and the line is read in shell form instead. A well-formed array holding something
other than strings is a hard error. The syntax is the ``json_array`` rule of ``grammar/buildfile.lark``;
this module adds Go's extra rejections and decodes the strings as Go does.
"""

from __future__ import annotations

import math

from builder.syntax.gocompat import trim_left_space
from builder.syntax.grammar import parser

NOT_STRINGS = "when using JSON array syntax, arrays must be comprised of strings only"
#: encoding/json's nesting limit
_MAX_DEPTH = 10000
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class NotStringArray(ValueError):
    """A well-formed JSON array with a non-string element; ``offset`` is where that element starts."""

    def __init__(self, offset: int) -> None:
        super().__init__(NOT_STRINGS)
        self.offset = offset


def parse_json(rest: str) -> list[tuple[str, int]] | None:
    """The strings of the JSON array ``rest`` with their offsets in ``rest``; None if it is not JSON.

    Raises NotStringArray for a well-formed array with a non-string element.
    """
    from lark import Token, Tree
    from lark.exceptions import UnexpectedInput

    text = trim_left_space(rest)
    if not text.startswith("["):
        return None
    lead = len(rest) - len(text)
    try:
        tree = parser().parse(text, start="json_array")
    except UnexpectedInput:
        return None
    stack = [(child, 2) for child in tree.children]  # the array itself is depth 1
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Tree):
            if depth > _MAX_DEPTH:
                return None
            nested = depth + (item.data != "j_member")
            stack.extend((child, nested) for child in item.children)
        elif item.type == "J_NUMBER" and math.isinf(float(item.value.rstrip(" \t\n\r"))):
            return None
    elements = []
    for child in tree.children:
        if not (isinstance(child, Token) and child.type == "J_STRING"):
            raise NotStringArray(lead + (child.start_pos if isinstance(child, Token) else child.meta.start_pos))
        elements.append((decode_string(child.value), lead + child.start_pos))
    return elements


def decode_string(token: str) -> str:
    """Decode one JSON string token the way encoding/json does (bad surrogates become U+FFFD)."""
    body = token.rstrip(" \t\n\r")[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append("\ufffd" if "\ud800" <= ch <= "\udfff" else ch)
            i += 1
            continue
        kind = body[i + 1]
        if kind != "u":
            out.append(_ESCAPES[kind])
            i += 2
            continue
        code = int(body[i + 2 : i + 6], 16)
        i += 6
        if 0xD800 <= code < 0xDC00 and body[i : i + 2] == "\\u":
            low = int(body[i + 2 : i + 6], 16)
            if 0xDC00 <= low < 0xE000:
                out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                i += 6
                continue
        out.append("\ufffd" if 0xD800 <= code < 0xE000 else chr(code))
    return "".join(out)
