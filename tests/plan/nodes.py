"""Small builders of AST nodes, so the plan is tested without depending on the parser."""

from __future__ import annotations

from builder.errors import Span
from builder.syntax import ast


def _span(line: int, text: str) -> Span:
    return Span("Buildfile", line, 1, line, text)


def _flags(line: int, text: str, flags: dict[str, str | None]) -> tuple[ast.Flag, ...]:
    out = []
    for name, value in flags.items():
        for one in value if isinstance(value, list) else [value]:
            written = f"--{name}" if one is None else f"--{name}={one}"
            out.append(ast.Flag(name, one, Span("Buildfile", line, text.find(written) + 1, line, text)))
    return tuple(out)


def FROM(line: int, image: str, name: str | None = None, platform: str | None = None) -> ast.From:
    text = "FROM " + (f"--platform={platform} " if platform else "") + image + (f" AS {name}" if name else "")
    flags = _flags(line, text, {"platform": platform} if platform else {})
    return ast.From(
        keyword="FROM", span=_span(line, text), original=text, flags=flags, image=image,
        stage_name=name.lower() if name else None,
    )  # fmt: skip


def ARG(line: int, *decls: str) -> ast.Arg:
    text = "ARG " + " ".join(decls)
    args = tuple(ast.ArgDecl(*d.split("=", 1)) if "=" in d else ast.ArgDecl(d, None) for d in decls)
    return ast.Arg(keyword="ARG", span=_span(line, text), original=text, args=args)


def ENV(line: int, *pairs: str) -> ast.Env:
    text = "ENV " + " ".join(pairs)
    kvs = tuple(ast.KeyValue(*p.split("=", 1)) for p in pairs)
    return ast.Env(keyword="ENV", span=_span(line, text), original=text, pairs=kvs)


def COPY(line: int, *words: str, **flags: str | list[str] | None) -> ast.Copy:
    text = "COPY " + "".join(f"--{k}={v} " for k, v in flags.items() if isinstance(v, str)) + " ".join(words)
    return ast.Copy(
        keyword="COPY", span=_span(line, text), original=text, flags=_flags(line, text, flags),
        sources=words[:-1], dest=words[-1],
    )  # fmt: skip


def RUN(line: int, command: str, mounts: tuple[str, ...] = ()) -> ast.Run:
    text = "RUN " + "".join(f"--mount={m} " for m in mounts) + command
    flags = _flags(line, text, {"mount": list(mounts)}) if mounts else ()
    return ast.Run(
        keyword="RUN", span=_span(line, text), original=text, flags=flags,
        command=ast.Command((command,), exec_form=False),
    )  # fmt: skip


def WORKDIR(line: int, path: str) -> ast.Workdir:
    text = f"WORKDIR {path}"
    return ast.Workdir(keyword="WORKDIR", span=_span(line, text), original=text, path=path)


def buildfile(*instructions: ast.Instruction) -> ast.Buildfile:
    return ast.Buildfile("Buildfile", tuple(instructions))
