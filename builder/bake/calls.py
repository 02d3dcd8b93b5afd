"""Calling functions in bake expressions: buildx's (`builder.bake.functions.FUNCTIONS`), ``try`` and ``can``
(whose arguments are evaluated lazily), and the file's own ``function`` blocks."""

from __future__ import annotations

from collections.abc import Callable

from builder.bake.functions import FUNCTIONS, UNSUPPORTED
from builder.errors import Span, SyntaxProblem


def call(evaluator, name: str, arg_nodes: list, expand: bool, scope, span: Span | None) -> object:
    """Call function ``name`` with the expressions ``arg_nodes`` (the last one spread when ``expand``)."""
    if name in ("try", "can"):
        return _try_can(evaluator, name, arg_nodes, scope, span)
    user = scope.function(name)
    args = [evaluator.eval(node, scope) for node in arg_nodes]
    if expand:
        if not args or not isinstance(args[-1], list):
            raise SyntaxProblem("Invalid expanding argument value: a list is required", span)
        args = args[:-1] + args[-1]
    if user is not None:
        return user(args, span)
    if name in UNSUPPORTED:
        raise SyntaxProblem(f'function "{name}" is not supported by pybuild', span)
    if name not in FUNCTIONS:
        raise SyntaxProblem(f'Call to unknown function: there is no function named "{name}"', span)
    least, most, implementation = FUNCTIONS[name]
    if len(args) < least or (most is not None and len(args) > most):
        wanted = str(least) if least == most else f"{least} or more" if most is None else f"{least} to {most}"
        raise SyntaxProblem(f'Invalid number of arguments: function "{name}" takes {wanted}', span)
    try:
        return implementation(span, *args)
    except SyntaxProblem:
        raise
    except (ValueError, TypeError, ArithmeticError, KeyError, IndexError) as error:
        raise SyntaxProblem(f'Error in function call: "{name}": {error}', span) from None


def _try_can(evaluator, name, arg_nodes, scope, span):
    if name == "can" and len(arg_nodes) != 1:
        raise SyntaxProblem('Invalid number of arguments: function "can" takes 1', span)
    for node in arg_nodes:
        try:
            value = evaluator.eval(node, scope)
        except SyntaxProblem:
            if name == "can":
                return False
            continue
        return True if name == "can" else value
    raise SyntaxProblem("Error in function call: no expression succeeded", span)


def user_function(evaluator, block, parent_scope) -> Callable:
    """A ``function "name" { params = [...] variadic_params = name result = expr }`` block as a callable."""
    from builder.bake.hclvalues import Scope

    label = block.labels[0] if block.labels else "?"
    allowed = {"params", "variadic_params", "result"}
    for key in block.attributes:
        if key not in allowed:
            raise SyntaxProblem(
                f'Unsupported argument: "{key}" is not expected in a function', block.attribute_spans[key]
            )
    if "result" not in block.attributes:
        raise SyntaxProblem(f'function "{label}" has no result', block.span)
    params = _names(block.attributes.get("params"))
    variadic = _names(block.attributes.get("variadic_params"))
    result = block.attributes["result"]
    depth = [0]  # calls of this function under way (a function calling itself must end)

    def invoke(args: list, span: Span | None) -> object:
        if len(args) < len(params) or (not variadic and len(args) > len(params)):
            raise SyntaxProblem(f'Invalid number of arguments: function "{label}" takes {len(params)}', span)
        values = dict(zip(params, args, strict=False))
        if variadic:
            values[variadic[0]] = args[len(params) :]
        if depth[0] >= 64:
            raise SyntaxProblem(f'function "{label}" calls itself too deeply', span)
        depth[0] += 1
        try:
            return evaluator.eval(result, Scope(values=values, parent=parent_scope))
        finally:
            depth[0] -= 1

    return invoke


def _names(node) -> list[str]:
    """The bare names of a ``params = [a, b]`` (or ``variadic_params = c``) attribute."""
    if node is None:
        return []
    from lark import Token

    return [str(t) for t in node.scan_values(lambda v: isinstance(v, Token) and v.type == "NAME")]
