"""The typed syntax tree of a Buildfile.

Every node is a frozen dataclass carrying the ``Span`` it came from and its ``original`` text (the logical
line as written, continuations joined). Nothing here is expanded: ``$VAR`` references stay as written, and
values keep what BuildKit keeps at parse time. Expansion and planning happen in ``builder.expand`` and
``builder.plan``.

The parser (``builder.syntax.parse``) guarantees the invariants stated on each class; later stages rely on
them instead of re-checking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.errors import Span


@dataclass(frozen=True, slots=True)
class Flag:
    """A ``--name=value`` (or bare ``--name``) flag as written, before expansion.

    ``value`` is None for a bare flag (``--link``); quotes are already removed, as BuildKit does.
    """

    name: str
    value: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A heredoc attached to RUN, COPY or ADD.

    ``name`` is the delimiter word (``EOF``); ``content`` is the body with its final newline, leading tabs
    already removed for ``<<-``; ``expand`` is False when the delimiter was quoted (no variable expansion).
    ``fd`` is N of ``N<<EOF`` (0 when absent). ``span`` points at the ``<<EOF`` word; its ``end_line`` is the
    terminator's line. ``raw`` is the body as written (tabs kept even for ``<<-``): a RUN whose heredocs
    feed its commands hands it to the shell, which strips them itself.
    """

    name: str
    content: str
    expand: bool
    chomp: bool
    span: Span
    fd: int = 0
    raw: str = ""


@dataclass(frozen=True, slots=True)
class Command:
    """A command line of RUN, CMD, ENTRYPOINT or HEALTHCHECK.

    Exec form (``exec_form`` True): ``args`` are the JSON array's strings. Shell form: ``args`` holds one
    string, the rest of the line as written, to be run through the stage's SHELL.
    """

    args: tuple[str, ...]
    exec_form: bool


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One pair of ENV or LABEL. ``value`` is as written (quotes and escapes kept, unexpanded)."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ArgDecl:
    """One name of an ARG instruction; ``default`` is None when no ``=`` was given."""

    name: str
    default: str | None


@dataclass(frozen=True, kw_only=True)
class Instruction:
    """Fields every instruction has. ``keyword`` is upper case (``COPY``) whatever the case written."""

    keyword: str
    span: Span
    original: str
    flags: tuple[Flag, ...] = ()

    def flag_values(self, name: str) -> list[str | None]:
        """Every value given for flag ``name`` (flags such as ``--mount`` may repeat), in order."""
        return [f.value for f in self.flags if f.name == name]

    def flag(self, name: str, default: str | None = None) -> str | None:
        """The last value given for flag ``name``, or ``default`` when it is absent."""
        values = self.flag_values(name)
        return values[-1] if values else default


@dataclass(frozen=True, kw_only=True)
class From(Instruction):
    """``FROM [--platform=P] image [AS name]``. ``stage_name`` is lower-cased, as BuildKit does."""

    image: str
    stage_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Run(Instruction):
    """``RUN [--mount=…] [--network=…] [--security=…] command``. ``heredocs`` in the order written."""

    command: Command
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Cmd(Instruction):
    command: Command


@dataclass(frozen=True, kw_only=True)
class Entrypoint(Instruction):
    command: Command


@dataclass(frozen=True, kw_only=True)
class Shell(Instruction):
    """``SHELL ["exe", "arg"]`` — always a JSON array (the parser rejects anything else)."""

    shell: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Env(Instruction):
    pairs: tuple[KeyValue, ...]


@dataclass(frozen=True, kw_only=True)
class Label(Instruction):
    pairs: tuple[KeyValue, ...]


@dataclass(frozen=True, kw_only=True)
class Arg(Instruction):
    args: tuple[ArgDecl, ...]


@dataclass(frozen=True, kw_only=True)
class Maintainer(Instruction):
    name: str


@dataclass(frozen=True, kw_only=True)
class Expose(Instruction):
    """Ports as written (``80``, ``53/udp``, ``$PORT``), expanded later."""

    ports: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CopyLike(Instruction):
    """Shared shape of COPY and ADD: sources and destination as written, before expansion.

    ``sources`` never contains the heredoc bodies; a heredoc source appears in ``sources`` as its
    ``<<NAME`` word and its body in ``heredocs``. ``exec_form`` is True for the JSON-array form.
    """

    sources: tuple[str, ...]
    dest: str
    heredocs: tuple[Heredoc, ...] = ()
    exec_form: bool = False


@dataclass(frozen=True, kw_only=True)
class Copy(CopyLike):
    """``COPY [--from] [--chown] [--chmod] [--link] [--parents] [--exclude]… src… dest``."""


@dataclass(frozen=True, kw_only=True)
class Add(CopyLike):
    """``ADD [--chown] [--chmod] [--link] [--checksum] [--keep-git-dir] [--exclude] [--unpack] src… dest``."""


@dataclass(frozen=True, kw_only=True)
class Volume(Instruction):
    paths: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class User(Instruction):
    user: str


@dataclass(frozen=True, kw_only=True)
class Workdir(Instruction):
    path: str


@dataclass(frozen=True, kw_only=True)
class Stopsignal(Instruction):
    signal: str


@dataclass(frozen=True, kw_only=True)
class Healthcheck(Instruction):
    """``HEALTHCHECK NONE`` (``command`` None) or ``HEALTHCHECK [--interval…] CMD command``.

    Durations stay as written in ``flags``; the parser has already checked that they are valid.
    """

    command: Command | None


@dataclass(frozen=True, kw_only=True)
class Onbuild(Instruction):
    """``ONBUILD <instruction>``; ``trigger`` is the parsed inner instruction (never ONBUILD, FROM or
    MAINTAINER). ``expression`` is the trigger's text as it goes into the image config."""

    trigger: Instruction
    expression: str


@dataclass(frozen=True, slots=True)
class Directive:
    """A parser directive at the top of the file (``# syntax=…``, ``# escape=…``, ``# check=…``)."""

    name: str
    value: str
    span: Span


@dataclass(frozen=True)
class Buildfile:
    """A parsed Buildfile: its directives, its instructions in order, and the escape character in force."""

    path: str
    instructions: tuple[Instruction, ...]
    directives: tuple[Directive, ...] = ()
    escape: str = "\\"
    warnings: tuple[str, ...] = field(default=())
