"""Evaluation of HCL expressions as buildx's bake evaluates them, on python-hcl2's lark tree.

python-hcl2 parses (``hcl2.parses_to_tree``) and keeps positions; this module gives the expressions their
values: literals, strings and heredocs with ``${}`` interpolation, tuples, objects, operators, conditionals,
``for`` expressions, indexing, splats and function calls (`builder.bake.functions`). Values are plain Python:
str, int/float, bool, None, list, dict. Names are looked up through a `Scope`, whose resolver lets bake
variables be evaluated when first used (buildx resolves them lazily too, so their order does not matter).

Every failure is a `SyntaxProblem` located at the expression (``docker-bake.hcl:7:12: error: …``).
"""

from __future__ import annotations

from lark import Token, Tree

from builder.bake.hclvalues import Scope, Source, _binary, _bool, _number, _tidy, _unescape, to_string
from builder.errors import Span, SyntaxProblem


def _trees(node: Tree) -> list[Tree]:
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


class Evaluator:
    """Evaluates expressions of one bake file (``source`` gives the spans)."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def span(self, node) -> Span | None:
        return self.source.span(node)

    def eval(self, node: Tree, scope: Scope) -> object:
        """The value of expression ``node``."""
        method = getattr(self, f"_{node.data}", None)
        if method is None:
            raise SyntaxProblem(f"unsupported expression ({node.data})", self.span(node))
        try:
            return method(node, scope)
        except RecursionError:
            raise SyntaxProblem("expression nested too deeply", self.span(node)) from None

    def _expr_term(self, node: Tree, scope: Scope) -> object:
        return self.eval(_trees(node)[0], scope)

    def _int_lit(self, node: Tree, scope: Scope) -> object:
        return int(str(node.children[0]))

    def _float_lit(self, node: Tree, scope: Scope) -> object:
        return _tidy(float(str(node.children[0])))

    def _literal_value(self, node: Tree, scope: Scope) -> object:
        return {"true": True, "false": False, "null": None}[str(node.children[0])]

    def _identifier(self, node: Tree, scope: Scope) -> object:
        return scope.lookup(str(node.children[0]), self.span(node))

    def _keyword(self, node: Tree, scope: Scope) -> object:
        return scope.lookup(str(node.children[0]), self.span(node))

    def _tuple(self, node: Tree, scope: Scope) -> object:
        return [self.eval(child, scope) for child in _trees(node)]

    def _object(self, node: Tree, scope: Scope) -> object:
        result = {}
        for elem in _trees(node):
            key_node, value_node = _trees(elem)
            result[self.object_key(key_node, scope)] = self.eval(value_node, scope)
        return result

    def object_key(self, key_node: Tree, scope: Scope) -> str:
        """An object key: a bare name is the name itself (``{ A = 1 }``), anything else is evaluated."""
        inner = _trees(key_node)
        if not inner:  # a keyword used as a key
            return str(key_node.children[0].children[0])
        expr = inner[0]
        if expr.data == "keyword":
            return str(expr.children[0])
        term = _trees(expr)
        if expr.data == "expr_term" and len(term) == 1 and term[0].data == "identifier":
            return str(term[0].children[0])
        if expr.data == "expr_term" and len(term) == 1 and term[0].data == "literal_value":
            return str(term[0].children[0])
        return to_string(self.eval(expr, scope), self.span(expr))

    def _string(self, node: Tree, scope: Scope) -> object:
        parts = [c for c in node.children if isinstance(c, Tree) and c.data == "string_part"]
        return self._template(parts, scope, node)

    def _template(self, parts: list[Tree], scope: Scope, node: Tree) -> object:
        from builder.bake.directives import render

        pieces = [p for p in render(self, parts, scope) if p != ""]
        # a template that is one interpolation alone keeps its value's type, as in HCL
        if len(pieces) == 1 and isinstance(pieces[0], tuple):
            return pieces[0][0]
        return "".join(p if isinstance(p, str) else to_string(p[0], p[1]) for p in pieces)

    def _template_string(self, node: Tree, scope: Scope) -> object:
        return _unescape(str(node.children[0])[2:-2])

    def _heredoc_template(self, node: Tree, scope: Scope) -> object:
        return self.template_text(_heredoc_body(str(node.children[0]), trim=False), scope, self.span(node))

    def _heredoc_template_trim(self, node: Tree, scope: Scope) -> object:
        return self.template_text(_heredoc_body(str(node.children[0]), trim=True), scope, self.span(node))

    def template_text(self, text: str, scope: Scope, span: Span | None) -> object:
        """``text`` as a template: each ``${expr}`` evaluated (``$${`` is a literal ``${``). Used for heredocs
        and for the strings of JSON bake files."""
        from builder.bake.hclsyntax import parse_expression

        pieces: list[object] = []
        i = 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                pieces.append(text[i:])
                break
            if start > 0 and text[start - 1] == "$":
                pieces.append(text[i : start - 1] + "${")
                i = start + 2
                continue
            pieces.append(text[i:start])
            end = _closing_brace(text, start + 2)
            if end < 0:
                raise SyntaxProblem("unterminated ${ in a template", span)
            expr = parse_expression(text[start + 2 : end], span)
            pieces.append((Evaluator(_OneLine(span)).eval(expr, scope), span))
            i = end + 1
        pieces = [p for p in pieces if p != ""]
        if len(pieces) == 1 and isinstance(pieces[0], tuple):
            return pieces[0][0]
        return "".join(p if isinstance(p, str) else to_string(p[0], p[1]) for p in pieces)

    def _conditional(self, node: Tree, scope: Scope) -> object:
        cond, yes, no = _trees(node)
        return self.eval(yes if _bool(self.eval(cond, scope), self.span(cond)) else no, scope)

    def _binary_op(self, node: Tree, scope: Scope) -> object:
        left_node, term = _trees(node)
        operator, right_node = _trees(term)
        op = str(operator.children[0])
        left = self.eval(left_node, scope)
        if op == "&&" and left is False:
            return False
        if op == "||" and left is True:
            return True
        return _binary(op, left, self.eval(right_node, scope), self.span(node))

    def _unary_op(self, node: Tree, scope: Scope) -> object:
        op = str(node.children[0])
        value = self.eval(_trees(node)[0], scope)
        if op == "!":
            return not _bool(value, self.span(node))
        return _tidy(-_number(value, self.span(node)))

    def _index_expr_term(self, node: Tree, scope: Scope) -> object:
        collection_node, index = _trees(node)
        return self._apply(self.eval(collection_node, scope), index, scope)

    def _get_attr_expr_term(self, node: Tree, scope: Scope) -> object:
        collection_node, attr = _trees(node)
        return self._apply(self.eval(collection_node, scope), attr, scope)

    def _apply(self, value: object, op: Tree, scope: Scope) -> object:
        span = self.span(op)
        if op.data == "get_attr":
            key: object = str(_trees(op)[0].children[0])
        elif op.data == "short_index":
            key = int(str(op.children[-1]))
        else:
            key = self.eval(_trees(op)[0], scope)
        if isinstance(value, list):
            index = _number(key, span)
            if not isinstance(index, int) or not 0 <= index < len(value):
                raise SyntaxProblem(f"Invalid index: the collection has {len(value)} elements", span)
            return value[index]
        if isinstance(value, dict):
            name = to_string(key, span)
            if name not in value:
                raise SyntaxProblem(f'Invalid index: the given key "{name}" does not exist', span)
            return value[name]
        raise SyntaxProblem("Invalid index: this value has no elements or attributes", span)

    def _attr_splat_expr_term(self, node: Tree, scope: Scope) -> object:
        return self._splat(node, scope)

    def _full_splat_expr_term(self, node: Tree, scope: Scope) -> object:
        return self._splat(node, scope)

    def _splat(self, node: Tree, scope: Scope) -> object:
        collection_node, splat = _trees(node)
        value = self.eval(collection_node, scope)
        items = value if isinstance(value, list) else ([] if value is None else [value])
        result = []
        for item in items:
            for op in _trees(splat):
                item = self._apply(item, op, scope)
            result.append(item)
        return result

    def _function_call(self, node: Tree, scope: Scope) -> object:
        from builder.bake.calls import call

        names = [c for c in node.children if isinstance(c, Tree) and c.data == "identifier"]
        name = str(names[-1].children[0])
        arguments = next((c for c in node.children if isinstance(c, Tree) and c.data == "arguments"), None)
        arg_nodes = _trees(arguments) if arguments is not None else []
        expand = arguments is not None and any(
            isinstance(c, Token) and c.type == "ELLIPSIS" for c in arguments.children
        )
        return call(self, name, arg_nodes, expand, scope, self.span(node))

    def _for_tuple_expr(self, node: Tree, scope: Scope) -> object:
        intro, *rest = _trees(node)
        body, cond = rest[0], (rest[1] if len(rest) > 1 else None)
        result = []
        for inner in self._iterations(intro, scope):
            if cond is None or _bool(self.eval(_trees(cond)[0], inner), self.span(cond)):
                result.append(self.eval(body, inner))
        return result

    def _for_object_expr(self, node: Tree, scope: Scope) -> object:
        intro, key_node, value_node, *rest = _trees(node)
        grouped = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in node.children)
        cond = rest[0] if rest else None
        result: dict = {}
        for inner in self._iterations(intro, scope):
            if cond is not None and not _bool(self.eval(_trees(cond)[0], inner), self.span(cond)):
                continue
            key = to_string(self.eval(key_node, inner), self.span(key_node))
            value = self.eval(value_node, inner)
            if grouped:
                result.setdefault(key, []).append(value)
            elif key in result:
                raise SyntaxProblem(f'Duplicate object key "{key}" in a for expression', self.span(key_node))
            else:
                result[key] = value
        return result

    def _iterations(self, intro: Tree, scope: Scope):
        *names, collection_node = _trees(intro)
        collection = self.eval(collection_node, scope)
        if isinstance(collection, dict):
            pairs = list(collection.items())
        elif isinstance(collection, list):
            pairs = list(enumerate(collection))
        else:
            raise SyntaxProblem("Iteration over a non-iterable value", self.span(collection_node))
        names = [str(n.children[0]) for n in names]
        for key, value in pairs:
            values = {names[0]: key, names[1]: value} if len(names) == 2 else {names[0]: value}
            yield scope.child(values)


class _OneLine(Source):
    """The spans of an expression inside a heredoc or a JSON string: the enclosing node's."""

    def __init__(self, span: Span | None) -> None:
        super().__init__(span.file if span else "<expression>", [])
        self._span = span

    def span(self, node) -> Span | None:
        return self._span


def _heredoc_body(token: str, *, trim: bool) -> str:
    lines = token.rstrip("\r\n").split("\n")
    body = lines[1:-1]
    if trim:
        indents = [len(line) - len(line.lstrip(" \t")) for line in body if line.strip()]
        cut = min(indents, default=0)
        body = [line[cut:] for line in body]
    return "".join(line + "\n" for line in body)


def _closing_brace(text: str, i: int) -> int:
    """The index of the ``}`` closing the interpolation whose body starts at ``i`` (nesting and strings
    skipped), or -1."""
    depth, quote = 0, False
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == '"':
                quote = False
        elif char == '"':
            quote = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


__all__ = ["Evaluator", "Scope", "Source", "to_string"]
