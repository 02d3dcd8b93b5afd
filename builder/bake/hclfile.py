"""Bake files in HCL and JSON → a `Config`, as buildx's hclparser reads them.

All HCL/JSON files of one invocation form one body (buildx merges them before evaluating): a ``variable`` or
top-level attribute of any file is visible in all. Variables are evaluated when first used; an environment
variable of the same name overrides a ``variable``'s default, converted to the default's type (bool, number,
string), and a ``variable`` without default takes the environment's value or "". Top-level attributes are
not overridden. ``function`` blocks define functions. ``target`` blocks may have a ``matrix`` (one target per
combination, named by ``name``; the label then names a group of them); ``group`` blocks list targets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from builder.bake.hcleval import Evaluator, Scope, Source, to_string
from builder.bake.hclsyntax import Block, parse_text, top_level
from builder.bake.model import BOOL_KEYS, KEYS, LIST_KEYS, MAP_KEYS, Config, Group, Target
from builder.errors import Span, SyntaxProblem

_TARGET_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")


@dataclass
class _Definition:
    """An expression with the evaluator of the file it came from (JSON values are evaluated as templates)."""

    expr: object
    evaluator: Evaluator
    span: Span | None


class _JsonEvaluator(Evaluator):
    """Evaluates the values of a JSON bake file: strings are templates, as in buildx's HCL JSON syntax."""

    def eval(self, node, scope: Scope) -> object:
        if isinstance(node, str):
            return self.template_text(node, scope, Span(self.source.name, 1, 1))
        if isinstance(node, list):
            return [self.eval(item, scope) for item in node]
        if isinstance(node, dict):
            return {key: self.eval(value, scope) for key, value in node.items()}
        return node


def _json_blocks(text: str, name: str) -> tuple[dict, list[Block]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        lines = text.splitlines()
        source = lines[error.lineno - 1] if 0 < error.lineno <= len(lines) else None
        raise SyntaxProblem(
            f"invalid JSON: {error.msg}", Span(name, error.lineno, error.colno, source_line=source)
        ) from None
    if not isinstance(document, dict):
        raise SyntaxProblem("a bake file in JSON must hold an object", Span(name, 1, 1))
    attributes, blocks = {}, []
    span = Span(name, 1, 1)
    for key, value in document.items():
        if key in ("variable", "target", "group", "function") and isinstance(value, dict):
            for label, body in value.items():
                if not isinstance(body, dict):
                    raise SyntaxProblem(f"{key} {label!r} must be an object", span)
                blocks.append(Block(key, [label], dict(body), span, {k: span for k in body}))
        else:
            attributes[key] = value
    return attributes, blocks


class Definitions:
    """The merged HCL/JSON files of one invocation, evaluated on demand."""

    def __init__(self, files: list[tuple[str, str]], env: Mapping[str, str], builtins: Mapping[str, str]):
        self.env = env
        self.builtins = dict(builtins)
        self.attributes: dict[str, _Definition] = {}
        self.variables: dict[str, _Definition | None] = {}
        self.blocks: list[tuple[Block, Evaluator]] = []
        self.values: dict[str, object] = {}
        self.resolving: list[str] = []
        self.scope = Scope(resolve=self._resolve)
        for name, text in files:
            if name.lower().endswith(".json"):
                source = Source(name, text.splitlines())
                evaluator: Evaluator = _JsonEvaluator(source)
                attributes, blocks = _json_blocks(text, name)
                spans = {k: Span(name, 1, 1) for k in attributes}
            else:
                source = Source(name, text.splitlines())
                evaluator = Evaluator(source)
                attributes, spans, blocks = top_level(parse_text(text, name), source)
            for key, expr in attributes.items():
                self.attributes[key] = _Definition(expr, evaluator, spans.get(key))
            for block in blocks:
                if block.type == "variable":
                    self._variable(block, evaluator)
                elif block.type == "function":
                    from builder.bake.calls import user_function

                    if len(block.labels) != 1:
                        raise SyntaxProblem("a function block needs one label, its name", block.span)
                    self.scope.functions[block.labels[0]] = user_function(evaluator, block, self.scope)
                elif block.type in ("target", "group"):
                    if len(block.labels) != 1:
                        raise SyntaxProblem(f"a {block.type} block needs one label, its name", block.span)
                    self.blocks.append((block, evaluator))
                else:
                    raise SyntaxProblem(
                        f'Unsupported block type: blocks of type "{block.type}" are not expected here',
                        block.span,
                    )

    def _variable(self, block: Block, evaluator: Evaluator) -> None:
        if len(block.labels) != 1:
            raise SyntaxProblem("a variable block needs one label, its name", block.span)
        for key in block.attributes:
            if key not in ("default", "description"):
                raise SyntaxProblem(
                    f'Unsupported argument: "{key}" is not expected in a variable', block.attribute_spans[key]
                )
        default = block.attributes.get("default")
        name = block.labels[0]
        self.variables[name] = (
            None if default is None else _Definition(default, evaluator, block.attribute_spans["default"])
        )

    def _resolve(self, name: str, span: Span | None) -> object:
        if name in self.values:
            return self.values[name]
        if name in self.resolving:
            raise SyntaxProblem(f"variable cycle not allowed for {name}", span)
        self.resolving.append(name)
        try:
            value = self._value(name, span)
        finally:
            self.resolving.pop()
        self.values[name] = value
        return value

    def _value(self, name: str, span: Span | None) -> object:
        definition = self.attributes.get(name)
        if definition is None and name not in self.variables and name in ("target", "group"):
            return _BlockValues(self, name)
        if definition is None and name in self.builtins:
            return self.builtins[name]
        if definition is None:
            if name not in self.variables:
                raise SyntaxProblem(f'Unknown variable: there is no variable named "{name}"', span)
            definition = self.variables[name]
            if definition is None:
                return self.env.get(name, "")
        value = definition.evaluator.eval(definition.expr, self.scope)
        if name in self.variables and name in self.env:
            return _from_env(name, self.env[name], value, definition.span)
        return value

    def config(self) -> Config:
        """Every group and target, evaluated (matrix targets expanded), in definition order."""
        config = Config()
        renamed: dict[str, list[str]] = {}
        for block, evaluator in self.blocks:
            label = block.labels[0]
            if block.type == "group":
                for key in block.attributes:
                    if key != "targets":
                        raise SyntaxProblem(f"{key} is not supported for groups", block.attribute_spans[key])
                targets = []
                if "targets" in block.attributes:
                    value = evaluator.eval(block.attributes["targets"], self.scope)
                    targets = _strings(value, block.attribute_spans["targets"], "targets")
                config.add_group(Group(label, targets, block.span))
                continue
            for target in self._targets(block, evaluator):
                config.add_target(target)
                renamed.setdefault(label, []).append(target.name)
        for label, names in renamed.items():
            names = list(dict.fromkeys(names))
            if names != [label]:
                config.add_group(Group(label, names))
        return config

    def _targets(self, block: Block, evaluator: Evaluator) -> list[Target]:
        label = block.labels[0]
        scopes = [self.scope]
        if "matrix" in block.attributes:
            matrix = evaluator.eval(block.attributes["matrix"], self.scope)
            span = block.attribute_spans["matrix"]
            if not isinstance(matrix, dict):
                raise SyntaxProblem("matrix must be a map", span)
            combos: list[dict] = [{}]
            for key, values in matrix.items():
                if not isinstance(values, list):
                    raise SyntaxProblem("matrix values must be a list", span)
                combos = [{**combo, key: value} for value in values for combo in combos]
            scopes = [self.scope.child(combo) for combo in combos]
        elif "name" in block.attributes:
            raise SyntaxProblem("name requires matrix", block.attribute_spans["name"])
        targets = []
        for scope in scopes:
            name = label
            if "name" in block.attributes:
                name = to_string(evaluator.eval(block.attributes["name"], scope), block.attribute_spans["name"])
            if not _TARGET_NAME.match(name):
                raise SyntaxProblem(
                    f'invalid target name {name!r}: only "[a-zA-Z0-9_-]+" are allowed',
                    block.attribute_spans.get("name", block.span),
                )
            target = Target(name, span=block.span)
            for key, expr in block.attributes.items():
                if key in ("name", "matrix"):
                    continue
                if key not in KEYS:
                    raise SyntaxProblem(
                        f'Unsupported argument: an argument named "{key}" is not expected here',
                        block.attribute_spans[key],
                    )
                value = evaluator.eval(expr, scope)
                setattr(target, KEYS[key], _typed(key, value, block.attribute_spans[key]))
            targets.append(target)
        return targets


class _BlockValues(dict):
    """``target.NAME.KEY`` / ``group.NAME.targets`` in an expression: the attributes of the block named NAME,
    evaluated when first read (as buildx resolves a referenced block on demand). A matrix target is not
    addressable by its label, as in buildx."""

    def __init__(self, definitions: Definitions, kind: str) -> None:
        super().__init__()
        self._definitions = definitions
        self._kind = kind

    def _blocks(self, label: str) -> list:
        return [
            (block, evaluator)
            for block, evaluator in self._definitions.blocks
            if block.type == self._kind and block.labels[0] == label and "matrix" not in block.attributes
        ]

    def __contains__(self, label: object) -> bool:
        return bool(self._blocks(str(label)))

    def __getitem__(self, label: str) -> dict:
        blocks = self._blocks(label)
        if not blocks:
            raise KeyError(label)
        key = f"{self._kind}.{label}"
        resolving = self._definitions.resolving
        if key in resolving:
            raise SyntaxProblem(f"{self._kind} {label} refers to itself", blocks[0][0].span)
        resolving.append(key)
        try:
            values: dict = {}
            for block, evaluator in blocks:
                for attribute, expr in block.attributes.items():
                    value = evaluator.eval(expr, self._definitions.scope)
                    if attribute in KEYS:
                        value = _typed(attribute, value, block.attribute_spans[attribute])
                    values[attribute] = value
            return values
        finally:
            resolving.pop()


def _from_env(name: str, text: str, default: object, span: Span | None) -> object:
    """An environment value for a variable, in the type of its default (buildx's rule)."""
    if isinstance(default, bool):
        from builder.bake.model import parse_bool

        try:
            return parse_bool(text, name)
        except Exception:
            raise SyntaxProblem(f"failed to parse {name} as bool: {text!r}", span) from None
    if isinstance(default, int | float):
        try:
            number = float(text)
        except ValueError:
            raise SyntaxProblem(f"failed to parse {name} as number: {text!r}", span) from None
        return int(number) if number.is_integer() else number
    if isinstance(default, list | dict):
        kind = "list" if isinstance(default, list) else "map"
        raise SyntaxProblem(f"unsupported type {kind} for variable {name} set in the environment", span)
    return text


def _strings(value: object, span: Span | None, key: str) -> list[str]:
    if not isinstance(value, list):
        raise SyntaxProblem(f'Incorrect attribute value type: "{key}" must be a list of strings', span)
    return [to_string(item, span) for item in value]


def _typed(key: str, value: object, span: Span | None) -> object:
    """``value`` converted to the type of attribute ``key`` (None: unset), as cty's conversion does."""
    if value is None:
        return None
    if key in LIST_KEYS:
        return _strings(value, span, key)
    if key in MAP_KEYS:
        if not isinstance(value, dict):
            raise SyntaxProblem(f'Incorrect attribute value type: "{key}" must be a map of strings', span)
        return {k: (None if v is None else to_string(v, span)) for k, v in value.items()}
    if key in BOOL_KEYS:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise SyntaxProblem(f'Incorrect attribute value type: "{key}" must be a bool', span)
    return to_string(value, span)
