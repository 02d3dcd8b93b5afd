"""Template directives in bake strings: ``%{ if COND }…%{ else }…%{ endif }`` and
``%{ for V in LIST }…%{ endfor }`` (``%{ for K, V in MAP }``), with HCL's strip markers (``%{~`` removes
the whitespace before the directive, ``~}`` the whitespace after it).

python-hcl2 gives a string's parts flat (a directive's start, the parts, its end); `render` pairs them and
produces the pieces a template joins: text, or ``(value, span)`` for an interpolation.
"""

from __future__ import annotations

from lark import Token, Tree

from builder.bake.hclvalues import _bool, _unescape
from builder.errors import SyntaxProblem

_OPENERS = {"template_if_start": "if", "template_for_start": "for"}
_CLOSERS = {"template_endif": "if", "template_endfor": "for"}


def _strip_markers(part: Tree) -> tuple[bool, bool]:
    """Whether a directive strips the whitespace before it and after it."""
    tokens = [c for c in part.children if isinstance(c, Token)]
    before = len(tokens) > 1 and tokens[1].type == "STRIP_MARKER"
    after = len(tokens) > 1 and tokens[-2].type == "STRIP_MARKER"
    return before, after


def _items(parts: list[Tree]) -> list:
    """The parts as ``("text", str)``, ``("expr", node)`` or ``("directive", tree)``, strip markers applied
    to the neighbouring text."""
    items: list = []
    strip_next = False
    for part in parts:
        item = part.children[0]
        if isinstance(item, Token):
            text = (
                str(item)[1:]
                if item.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE")
                else _unescape(str(item))
            )
            items.append(["text", text.lstrip() if strip_next else text])
            strip_next = False
        elif item.data == "interpolation":
            items.append(["expr", item])
            strip_next = False
        else:
            before, after = _strip_markers(item)
            if before and items and items[-1][0] == "text":
                items[-1][1] = items[-1][1].rstrip()
            items.append(["directive", item])
            strip_next = after
    return items


def render(evaluator, parts: list[Tree], scope) -> list:
    """The pieces of a template's ``parts`` evaluated in ``scope``."""
    return _render(evaluator, _items(parts), scope)


def _render(evaluator, items: list, scope) -> list:
    pieces: list = []
    i = 0
    while i < len(items):
        kind, value = items[i]
        if kind == "text":
            pieces.append(value)
        elif kind == "expr":
            expr = _trees(value)[0]
            pieces.append((evaluator.eval(expr, scope), evaluator.span(expr)))
        else:
            end, middle = _matching(items, i, evaluator)
            if value.data == "template_if_start":
                condition = _trees(value)[0]
                chosen = _bool(evaluator.eval(condition, scope), evaluator.span(condition))
                branch = items[i + 1 : middle] if chosen else items[middle + 1 : end] if middle != end else []
                pieces.extend(_render(evaluator, branch, scope))
            elif value.data == "template_for_start":
                pieces.extend(_loop(evaluator, value, items[i + 1 : end], scope))
            else:
                raise SyntaxProblem(
                    f"unexpected %{{{value.data.removeprefix('template_')}}}", evaluator.span(value)
                )
            i = end
        i += 1
    return pieces


def _matching(items: list, start: int, evaluator) -> tuple[int, int]:
    """The index of the directive closing the one at ``start`` and of its ``else`` (the end when none)."""
    opener = items[start][1]
    if opener.data not in _OPENERS:
        raise SyntaxProblem(f"unexpected %{{{opener.data.removeprefix('template_')}}}", evaluator.span(opener))
    depth, middle = 0, None
    for index in range(start + 1, len(items)):
        kind, value = items[index]
        if kind != "directive":
            continue
        if value.data in _OPENERS:
            depth += 1
        elif value.data in _CLOSERS:
            if depth == 0:
                if _CLOSERS[value.data] != _OPENERS[opener.data]:
                    raise SyntaxProblem(f"%{{end{_OPENERS[opener.data]}}} expected", evaluator.span(value))
                return index, middle if middle is not None else index
            depth -= 1
        elif value.data == "template_else" and depth == 0:
            middle = index
    raise SyntaxProblem(
        f"%{{{_OPENERS[opener.data]}}} without %{{end{_OPENERS[opener.data]}}}", evaluator.span(opener)
    )


def _loop(evaluator, start: Tree, body: list, scope) -> list:
    trees = _trees(start)
    *names, collection_node = trees
    names = [str(n.children[0]) for n in names]
    collection = evaluator.eval(collection_node, scope)
    if isinstance(collection, dict):
        pairs = list(collection.items())
    elif isinstance(collection, list):
        pairs = list(enumerate(collection))
    else:
        raise SyntaxProblem("Iteration over a non-iterable value", evaluator.span(collection_node))
    pieces: list = []
    for key, value in pairs:
        values = {names[0]: key, names[1]: value} if len(names) == 2 else {names[0]: value}
        pieces.extend(_render(evaluator, body, scope.child(values)))
    return pieces


def _trees(node: Tree) -> list[Tree]:
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
