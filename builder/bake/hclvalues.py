"""Values of bake expressions: the scope names are looked up in, HCL's conversions (to string, number,
bool), its operators, and the source a span is taken from. Values are plain Python: str, int/float, bool,
None, list, dict."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lark import Token, Tree

from builder.errors import Span, SyntaxProblem


@dataclass
class Source:
    """A bake file's name (as messages show it) and its lines, for spans."""

    name: str
    lines: list[str]

    def span(self, node: Tree | Token | None) -> Span | None:
        line = getattr(node, "line", None) if isinstance(node, Token) else getattr(node, "meta", None)
        if isinstance(node, Tree):
            meta = node.meta
            if getattr(meta, "empty", True):
                return Span(self.name, 1, 1)
            line, column = meta.line, meta.column
        elif isinstance(node, Token) and node.line is not None:
            line, column = node.line, node.column or 1
        else:
            return Span(self.name, 1, 1)
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return Span(self.name, line, column, source_line=text)


@dataclass
class Scope:
    """Names visible to an expression: ``values`` (matrix values, ``for`` variables, function parameters)
    first, then ``parent``; at the top ``resolve`` (variables, evaluated on first use) and ``functions``."""

    values: dict = field(default_factory=dict)
    parent: Scope | None = None
    resolve: Callable[[str, Span | None], object] | None = None
    functions: dict = field(default_factory=dict)

    def lookup(self, name: str, span: Span | None) -> object:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.values:
                return scope.values[name]
            if scope.resolve is not None:
                return scope.resolve(name, span)
            scope = scope.parent
        raise SyntaxProblem(f'Unknown variable: there is no variable named "{name}"', span)

    def function(self, name: str):
        scope: Scope | None = self
        while scope is not None:
            if name in scope.functions:
                return scope.functions[name]
            scope = scope.parent
        return None

    def child(self, values: dict) -> Scope:
        return Scope(values=values, parent=self)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)


def _unescape(text: str) -> str:
    def one(match: re.Match) -> str:
        code = match.group(1)
        if code[0] in "uU" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, "\\" + code)

    return _ESCAPE_RE.sub(one, text)


def to_string(value: object, span: Span | None) -> str:
    """A value where HCL wants a string (interpolation, string attributes): numbers and bools convert."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if value is None:
        raise SyntaxProblem("Invalid template interpolation value: the value is null", span)
    kind = "tuple" if isinstance(value, list) else "object"
    raise SyntaxProblem(f"Invalid template interpolation value: cannot include a {kind} in a string", span)


def _number(value: object, span: Span | None) -> int | float:
    if isinstance(value, bool):
        raise SyntaxProblem("a number is required, not a bool", span)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise SyntaxProblem(f"a number is required: {value!r} is not one", span) from None
        return int(number) if number.is_integer() and "." not in value else number
    raise SyntaxProblem("a number is required", span)


def _bool(value: object, span: Span | None) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise SyntaxProblem("a bool is required", span)


def _tidy(number: float | int) -> int | float:
    return int(number) if isinstance(number, float) and number.is_integer() else number


def _binary(op: str, left: object, right: object, span: Span | None) -> object:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("&&", "||"):
        a, b = _bool(left, span), _bool(right, span)
        return (a and b) if op == "&&" else (a or b)
    a, b = _number(left, span), _number(right, span)
    if op == "+":
        return _tidy(a + b)
    if op == "-":
        return _tidy(a - b)
    if op == "*":
        return _tidy(a * b)
    if op in ("/", "%"):
        if b == 0:
            raise SyntaxProblem("Zero divisor: the right operand of a division is zero", span)
        return _tidy(a / b) if op == "/" else _tidy(a - b * int(a / b))
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
