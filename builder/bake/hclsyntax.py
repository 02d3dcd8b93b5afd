"""HCL text → python-hcl2's lark tree, with syntax errors located as pybuild locates them.

The parser is python-hcl2's (built on lark, as pybuild's own grammar is); it is imported here only, so a
command that reads no bake file never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token, Tree

from builder.errors import Span, SyntaxProblem


@dataclass
class Block:
    """One block of a bake file: its type (``target``), labels, attributes (name → expression node, in
    file order) and where it starts; ``attribute_spans`` locate each attribute."""

    type: str
    labels: list[str]
    attributes: dict
    span: Span | None
    attribute_spans: dict


def parse_text(text: str, name: str) -> Tree:
    """The tree of a whole HCL file; a syntax error is raised located in ``name``."""
    import hcl2
    from lark.exceptions import UnexpectedInput

    if not text.endswith("\n"):
        text += "\n"  # the grammar wants a line end after the last attribute
    try:
        return hcl2.parses_to_tree(text)
    except UnexpectedInput as error:
        line = getattr(error, "line", 1) or 1
        column = getattr(error, "column", 1) or 1
        lines = text.splitlines()
        source = lines[line - 1] if 0 < line <= len(lines) else None
        found = getattr(error, "token", None)
        if found is not None and found.type == "$END":
            what = "unexpected end of file"
        elif found is not None:
            what = f"unexpected {str(found).strip() or found.type!r}"
        else:
            what = f"unexpected character {getattr(error, 'char', '?')!r}"
        raise SyntaxProblem(f"syntax error: {what}", Span(name, line, column, source_line=source)) from None


def parse_expression(text: str, span: Span | None) -> Tree:
    """One expression (the inside of a ``${}`` of a heredoc or a JSON string)."""
    tree = parse_text(f"_ = {text.strip()}\n", span.file if span else "<expression>")
    attribute = _items(_body(tree))[0]
    return _attribute_parts(attribute)[1]


def _body(tree: Tree) -> Tree:
    return tree.children[0] if tree.data == "start" else tree


def _items(body: Tree) -> list[Tree]:
    return [c for c in body.children if isinstance(c, Tree) and c.data in ("attribute", "block")]


def _name(node: Tree) -> str:
    """The text of an identifier, keyword or literal used as a name."""
    if isinstance(node, Token):
        return str(node)
    return str(node.children[0]) if isinstance(node.children[0], Token) else _name(node.children[0])


def _attribute_parts(node: Tree) -> tuple[str, Tree]:
    trees = [c for c in node.children if isinstance(c, Tree)]
    return _name(trees[0]), trees[-1]


def _label(node: Tree) -> str:
    if node.data == "string":
        return "".join(
            str(part.children[0])
            for part in node.children
            if isinstance(part, Tree) and part.data == "string_part" and isinstance(part.children[0], Token)
        )
    return _name(node)


def top_level(tree: Tree, source) -> tuple[dict, dict, list[Block]]:
    """The top-level attributes (name → expression), their spans, and the blocks of a parsed file;
    ``source`` (`builder.bake.hcleval.Source`) gives the spans."""
    attributes: dict = {}
    spans: dict = {}
    blocks: list[Block] = []
    for item in _items(_body(tree)):
        if item.data == "attribute":
            name, expr = _attribute_parts(item)
            attributes[name] = expr
            spans[name] = source.span(item)
            continue
        blocks.append(block_of(item, source))
    return attributes, spans, blocks


def block_of(item: Tree, source) -> Block:
    trees = [c for c in item.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
    body = trees[-1]
    kind = _name(trees[0])
    labels = [_label(node) for node in trees[1:-1]]
    attributes: dict = {}
    spans: dict = {}
    for inner in _items(body):
        if inner.data == "block":
            nested = block_of(inner, source)
            raise SyntaxProblem(
                f'Unsupported block type: blocks of type "{nested.type}" are not expected here', nested.span
            )
        name, expr = _attribute_parts(inner)
        if name in attributes:
            raise SyntaxProblem(
                f'Attribute redefined: the argument "{name}" was already set', source.span(inner)
            )
        attributes[name] = expr
        spans[name] = source.span(inner)
    return Block(kind, labels, attributes, source.span(item), spans)
