"""Raw nodes → the typed AST of ``builder.syntax.ast``, with BuildKit's per-instruction checks.

This is the counterpart of BuildKit's ``instructions/parse.go``: argument counts, flags and their values,
``FROM x AS name``, HEALTHCHECK types, ONBUILD triggers, SHELL's JSON form, where heredocs are allowed.
Every rejection is a SyntaxProblem located at the offending token. Messages keep BuildKit's wording where
BuildKit has one, so that a message found on the web still matches.
"""

from __future__ import annotations

import difflib
import re

from builder.gofmt import quote
from builder.syntax import ast
from builder.syntax import heredoc as heredocs
from builder.syntax.flags import parse_flags
from builder.syntax.nodes import HEREDOC_KEYWORDS, RawArg, RawHeredoc, RawNode

INSTRUCTIONS = (
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
)  # fmt: skip
_STAGE_NAME = re.compile(r"[a-z][a-z0-9\-_.]*\Z")
_ONBUILD_PREFIX = re.compile(r"(?i)^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*")


def to_instruction(
    node: RawNode, heredoc_list: list[RawHeredoc] | None = None, end_line: int = 0
) -> ast.Instruction:
    """Type one raw node. ``heredoc_list``/``end_line`` default to the node's own (an ONBUILD passes its)."""
    keyword = node.keyword.upper()
    bodies = node.heredocs if heredoc_list is None else heredoc_list
    end = end_line or node.end_line
    build = _BUILDERS.get(keyword)
    if build is None:
        close = difflib.get_close_matches(keyword, INSTRUCTIONS, n=1)
        hint = f"did you mean {close[0]}?" if close else f"instructions are: {', '.join(INSTRUCTIONS)}"
        raise node.line.error(f"unknown instruction: {node.keyword}", node.offset, hint=hint)
    if keyword.lower() not in HEREDOC_KEYWORDS:
        _refuse_heredoc(node, keyword)
    common = {
        "keyword": keyword,
        "span": node.line.span(node.offset, end_line=end),
        "original": node.original,
        "flags": parse_flags(node, keyword),
    }
    return build(node, common, bodies, end)


def _refuse_heredoc(node: RawNode, keyword: str) -> None:
    if node.json or "<<" not in node.original or keyword == "ONBUILD":
        return
    try:
        found = heredocs.find_markers(node.original)
    except heredocs.LexError:
        return
    if found:
        raise node.line.error(
            f"{keyword} does not take a heredoc ({found[0].word})",
            node.original_offset + found[0].offset,
            hint="only RUN, COPY and ADD take heredocs",
        )


def _values(args: list[RawArg]) -> tuple[str, ...]:
    return tuple(arg.value for arg in args)


def _require(node: RawNode, count_ok: bool, message: str) -> None:
    if not count_ok:
        where = node.args[1].offset if len(node.args) > 1 else node.offset
        raise node.line.error(message, where)


def _at_least_one(node: RawNode, keyword: str) -> None:
    if not node.args:
        raise node.line.error(f"{keyword} requires at least one argument", node.offset)


def _exactly_one(node: RawNode, common: dict, bodies, end) -> str:
    _require(node, len(node.args) == 1, f"{common['keyword']} requires exactly one argument")
    return node.args[0].value


def _command(node: RawNode, args: list[RawArg], keyword: str, empty_ok: bool) -> ast.Command:
    if not args and not (node.json and empty_ok):
        raise node.line.error(f"{keyword} requires at least one argument", node.offset)
    return ast.Command(_values(args), exec_form=node.json)


def _heredocs(node: RawNode, bodies: list[RawHeredoc]) -> tuple[ast.Heredoc, ...]:
    out = []
    for body in bodies:
        marker = body.marker
        content = heredocs.chomp(body.content) if marker.chomp else body.content
        span = node.line.span(body.offset, end_line=body.end_line)
        out.append(
            ast.Heredoc(marker.name, content, marker.expand, marker.chomp, span, marker.fd, raw=body.content)
        )
    return tuple(out)


def _from(node, common, bodies, end):
    args = node.args
    stage = None
    if len(args) == 3 and args[1].value.lower() == "as":
        stage = args[2].value.lower()
        if not _STAGE_NAME.match(stage):
            raise node.line.error(
                f"invalid name for build stage: {quote(args[2].value)}, "
                "name can't start with a number or contain symbols",
                args[2].offset,
            )
    elif len(args) != 1:
        # point at the word that breaks the form: the missing image, the extra word, or a non-AS
        offending = None if not args else args[1] if len(args) <= 3 else args[3]
        raise node.line.error(
            "FROM requires either one or three arguments",
            offending.offset if offending else node.offset,
            hint="did you mean AS?" if len(args) == 3 else "write FROM IMAGE [AS NAME]",
        )
    return ast.From(**common, image=args[0].value, stage_name=stage)


def _run(node, common, bodies, end):
    return ast.Run(**common, command=_command(node, node.args, "RUN", False), heredocs=_heredocs(node, bodies))


def _cmd(node, common, bodies, end):
    return ast.Cmd(**common, command=_command(node, node.args, "CMD", True))


def _entrypoint(node, common, bodies, end):
    return ast.Entrypoint(**common, command=_command(node, node.args, "ENTRYPOINT", True))


def _shell(node, common, bodies, end):
    _at_least_one(node, "SHELL")
    if not node.json:
        raise node.line.error(
            "SHELL requires the arguments to be in JSON form",
            node.rest_offset,
            hint='write SHELL ["executable", "parameters"]',
        )
    return ast.Shell(**common, shell=_values(node.args))


def _pairs(node: RawNode, keyword: str) -> tuple[ast.KeyValue, ...]:
    _at_least_one(node, keyword)
    pairs = []
    for i in range(0, len(node.args) - 2, 3):
        key, value = node.args[i], node.args[i + 1]
        if not key.value:
            raise node.line.error(f"{keyword} names can not be blank", key.offset)
        pairs.append(ast.KeyValue(key.value, value.value))
    return tuple(pairs)


def _env(node, common, bodies, end):
    return ast.Env(**common, pairs=_pairs(node, "ENV"))


def _label(node, common, bodies, end):
    return ast.Label(**common, pairs=_pairs(node, "LABEL"))


def _arg(node, common, bodies, end):
    _at_least_one(node, "ARG")
    decls = []
    for word in node.args:
        name, eq, default = word.value.partition("=")
        if not name:
            raise node.line.error("ARG names can not be blank", word.offset)
        decls.append(ast.ArgDecl(name, default if eq else None))
    return ast.Arg(**common, args=tuple(decls))


def _maintainer(node, common, bodies, end):
    return ast.Maintainer(**common, name=_exactly_one(node, common, bodies, end))


def _expose(node, common, bodies, end):
    _at_least_one(node, "EXPOSE")
    return ast.Expose(**common, ports=_values(node.args))


def _copy_like(cls, keyword: str):
    def build(node, common, bodies, end):
        if len(node.args) < 2:
            raise node.line.error(
                f"{keyword} requires at least two arguments, but only one was provided. "
                "Destination could not be determined",
                node.args[0].offset if node.args else node.offset,
                hint=f"write {keyword} SOURCE... DEST",
            )
        dest = node.args[-1]
        if not node.json and heredocs.parse_marker_quietly(dest.value) is not None:
            raise node.line.error(f"{keyword} cannot accept a heredoc as a destination", dest.offset)
        return cls(
            **common,
            sources=_values(node.args[:-1]),
            dest=dest.value,
            heredocs=_heredocs(node, bodies),
            exec_form=node.json,
        )

    return build


def _volume(node, common, bodies, end):
    _at_least_one(node, "VOLUME")
    paths = []
    for arg in node.args:
        path = arg.value.strip(" \t\n\v\f\r")
        if not path:
            raise node.line.error("VOLUME specified can not be an empty string", arg.offset)
        paths.append(path)
    return ast.Volume(**common, paths=tuple(paths))


def _user(node, common, bodies, end):
    return ast.User(**common, user=_exactly_one(node, common, bodies, end))


def _workdir(node, common, bodies, end):
    return ast.Workdir(**common, path=_exactly_one(node, common, bodies, end))


def _stopsignal(node, common, bodies, end):
    return ast.Stopsignal(**common, signal=_exactly_one(node, common, bodies, end))


def _healthcheck(node, common, bodies, end):
    _at_least_one(node, "HEALTHCHECK")
    kind = node.args[0].value.upper()
    rest = node.args[1:]
    if kind == "NONE":
        if rest:
            raise node.line.error("HEALTHCHECK NONE takes no arguments", rest[0].offset)
        return ast.Healthcheck(**common, command=None)
    if kind != "CMD":
        raise node.line.error(
            f"Unknown type {quote(kind)} in HEALTHCHECK (try CMD)", node.args[0].offset, hint="use CMD or NONE"
        )
    if not rest:
        raise node.line.error("Missing command after HEALTHCHECK CMD", node.args[0].offset)
    return ast.Healthcheck(**common, command=ast.Command(_values(rest), exec_form=node.json))


def _onbuild(node, common, bodies, end):
    _at_least_one(node, "ONBUILD")
    child = node.args[0].child
    trigger_keyword = child.keyword.upper()
    if trigger_keyword == "ONBUILD":
        raise node.line.error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", child.offset)
    if trigger_keyword in ("MAINTAINER", "FROM"):
        raise node.line.error(f"{trigger_keyword} isn't allowed as an ONBUILD trigger", child.offset)
    trigger = to_instruction(child, bodies, end)
    expression = _ONBUILD_PREFIX.sub("", node.original, count=1)
    for body in bodies:
        expression += "\n" + body.content + body.marker.name
    return ast.Onbuild(**common, trigger=trigger, expression=expression)


_BUILDERS = {
    "FROM": _from,
    "RUN": _run,
    "CMD": _cmd,
    "ENTRYPOINT": _entrypoint,
    "SHELL": _shell,
    "ENV": _env,
    "LABEL": _label,
    "ARG": _arg,
    "MAINTAINER": _maintainer,
    "EXPOSE": _expose,
    "COPY": _copy_like(ast.Copy, "COPY"),
    "ADD": _copy_like(ast.Add, "ADD"),
    "VOLUME": _volume,
    "USER": _user,
    "WORKDIR": _workdir,
    "STOPSIGNAL": _stopsignal,
    "HEALTHCHECK": _healthcheck,
    "ONBUILD": _onbuild,
}
