"""The expansion pass: each instruction's effective arguments, given the environment at its step.

BuildKit expands variables in ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG
(and in COPY/ADD ``--chown``/``--chmod``, ADD ``--checksum``, ``RUN --mount`` options other than ``from``, and
the bodies of COPY/ADD heredocs with an unquoted delimiter). RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK,
MAINTAINER and ONBUILD are kept as written: the shell, or a later build, deals with them.

The environment a step sees is one ordered mapping: the base's environment (the base image's ENV, PATH for
``scratch``, or everything the base stage ended with, ARG values included), then each ENV pair and each ARG
that has a value, in order, a later one replacing an earlier one of the same name. An ARG's value is its
``--build-arg`` if given, else its default (expanded), else the global ARG or predefined ARG of that name.

At plan time a base image's ENV is unknown: `Resolver` then starts from an empty environment, so a reference
to a variable only the image defines expands to the empty string, and `Resolved.unresolved` names it. The
executor calls `Resolver.steps` again with the image's real environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

from builder.expand.limits import Budget
from builder.plan.model import DEFAULT_PATH, Plan, SourceKind, Stage
from builder.plan.words import RecordingEnv, expand_word, expand_words
from builder.syntax import ast

_EXPANDED_FLAGS = {"COPY": ("chown", "chmod"), "ADD": ("chown", "chmod", "checksum")}
_REPEATED_FLAGS = ("mount", "exclude")

FlagValue = str | bool | list[str]
Expander = Callable[[str], str]


@dataclass(frozen=True)
class Resolved:
    """One instruction with its effective arguments.

    ``flags`` maps a flag name to its value (True for a bare flag; a list for ``--mount`` and ``--exclude``,
    which may repeat); ``args`` are the arguments after expansion (see the outline schema for each keyword);
    ``heredocs`` carry expanded bodies where BuildKit expands them; ``sets`` are the variables the instruction
    sets for later steps (ENV pairs, ARGs with a value); ``unresolved`` the names referred to that only the
    base image could define (empty when its environment was given).
    """

    instruction: ast.Instruction
    flags: dict[str, FlagValue]
    args: tuple[str, ...]
    heredocs: tuple[ast.Heredoc, ...] = ()
    sets: tuple[tuple[str, str], ...] = ()
    unresolved: tuple[str, ...] = ()
    expanded: bool = True
    #: ARG only: each name with its default as expanded (None: no default), whatever a build arg overrides
    defaults: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Step:
    """A resolved instruction. (It keeps no copy of the environment: one per step made a stage of many ENV
    lines quadratic in them; `Resolver.final_env` gives a stage's result.)"""

    resolved: Resolved


class Resolver:
    """Expands the instructions of a `Plan`'s stages. Stateless apart from a cache of stages' final env: share
    one across a build's stages, so a chain of N stages is resolved in time linear in N."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.escape = plan.buildfile.escape
        # Every word this resolver expands draws on one budget (builder.expand.limits): many words of 1 MiB
        # each must not add up to more memory than the machine has.
        self.budget = Budget()
        self._final: dict[int, dict[str, str]] = {}
        # The same for a known image environment: the one it was computed with, and the result. Identity, not
        # equality: a build hands one chain's stages the same mapping, and comparing would cost its size.
        self._final_with: dict[int, tuple[Mapping[str, str], dict[str, str]]] = {}

    def _cached(self, stage: Stage, image_env: Mapping[str, str] | None) -> dict[str, str] | None:
        if image_env is None:
            return self._final.get(stage.index)
        entry = self._final_with.get(stage.index)
        return entry[1] if entry is not None and entry[0] is image_env else None

    def start_env(self, stage: Stage, image_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment at ``stage``'s FROM. ``image_env`` is the ENV of the image at the root of its chain
        of bases (None: unknown, taken as empty)."""
        # A loop over the chain of base stages, not recursion: a Buildfile may chain thousands of stages.
        pending: list[Stage] = []  # base stages whose final environment is needed, nearest first
        env: Mapping[str, str] | None = None
        current = stage
        while current.base.kind is SourceKind.STAGE:
            current = self.plan.stages[current.base.stage or 0]
            env = self._cached(current, image_env)
            if env is not None:
                break
            pending.append(current)
        if env is None:  # the chain's root stage starts from scratch or from the image
            env = {"PATH": DEFAULT_PATH} if current.base.kind is SourceKind.SCRATCH else (image_env or {})
        for base in reversed(pending):
            env = self._run_stage(base, image_env, dict(env))
        return dict(env)

    def _run_stage(
        self, stage: Stage, image_env: Mapping[str, str] | None, env: dict[str, str]
    ) -> dict[str, str]:
        """``env`` (the environment at ``stage``'s FROM) after the stage's instructions; kept for later calls
        (see `_cached`)."""
        for step in self.steps(stage, image_env, env=env):
            env.update(step.resolved.sets)
        if image_env is None:
            self._final[stage.index] = env
        else:
            self._final_with[stage.index] = (image_env, env)
        return env

    def final_env(self, stage: Stage, image_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment after ``stage``'s last instruction (what a stage built on it starts with)."""
        cached = self._cached(stage, image_env)
        if cached is not None:
            return cached
        return self._run_stage(stage, image_env, self.start_env(stage, image_env))

    def steps(
        self,
        stage: Stage,
        image_env: Mapping[str, str] | None = None,
        *,
        expand: bool = True,
        env: dict[str, str] | None = None,
    ) -> Iterator[Step]:
        """Resolve ``stage``'s FROM and then each instruction in order, updating the environment as it goes.

        With ``expand`` False every word is kept as written (how the outline shows stages the build skips).
        Raises the located `ExpansionError` of the first word that fails (``${v:?msg}``).
        """
        if env is None:
            # Words kept as written need no environment, and a skipped base stage must not be expanded.
            env = self.start_env(stage, image_env) if expand else {}
        record = image_env is None and self.plan.root_kind(stage) is SourceKind.IMAGE
        yield Step(self._from(stage))
        for instruction in stage.instructions:
            resolved = self.resolve(instruction, env, expand=expand, record=record)
            yield Step(resolved)
            env.update(resolved.sets)

    def resolve(
        self, instruction: ast.Instruction, env: Mapping[str, str], *, expand: bool = True, record: bool = False
    ) -> Resolved:
        """Expand one instruction (not FROM) in ``env``.

        With ``record``, the names looked up that ``env`` lacks are listed in ``unresolved``.
        """
        lookup = RecordingEnv(env)

        def word(text: str) -> str:
            return expand_word(text, lookup, self.escape, instruction, budget=self.budget) if expand else text

        resolved = _resolve(instruction, word, self, lookup if expand else None)
        flags = _flags(instruction, word)
        missing = tuple(lookup.missing) if record else ()
        return replace(resolved, flags=flags, unresolved=missing, expanded=expand)

    def arg_value(self, decl: ast.ArgDecl, default: str | None) -> str | None:
        """The value a stage's ``ARG`` gets: the build arg, else its (expanded) default, else the global one."""
        if decl.name in self.plan.build_args:
            return self.plan.build_args[decl.name]
        if default is not None:
            return default
        return self.plan.global_scope.get(decl.name)

    def _from(self, stage: Stage) -> Resolved:
        flags: dict[str, FlagValue] = {} if stage.platform_flag is None else {"platform": stage.platform_flag}
        name = ("AS", stage.name) if stage.name is not None else ()
        return Resolved(stage.source, flags, (stage.base.ref, *name))


def _resolve(ins: ast.Instruction, word: Expander, resolver: Resolver, env: RecordingEnv | None) -> Resolved:
    """The keyword-specific part of `Resolver.resolve`; ``env`` is None when nothing is expanded."""
    match ins:
        case ast.Env(pairs=pairs):
            values = tuple((word(p.key), word(p.value)) for p in pairs)
            return Resolved(ins, {}, tuple(f"{k}={v}" for k, v in values), sets=values)
        case ast.Label(pairs=pairs):
            return Resolved(ins, {}, tuple(f"{word(p.key)}={word(p.value)}" for p in pairs))
        case ast.Arg(args=decls):
            defaults = tuple((d.name, None if d.default is None else word(d.default)) for d in decls)
            values = [
                (d.name, resolver.arg_value(d, default))
                for d, (_, default) in zip(decls, defaults, strict=True)
            ]
            shown = tuple(name if value is None else f"{name}={value}" for name, value in values)
            sets = tuple((n, v) for n, v in values if v is not None)
            return Resolved(ins, {}, shown, sets=sets, defaults=defaults)
        case ast.CopyLike(sources=sources, dest=dest, heredocs=heredocs):
            names = {f"<<{h.name}" for h in heredocs} | {f"<<-{h.name}" for h in heredocs}
            args = tuple(s if _is_heredoc_word(s, names) else word(s) for s in sources) + (word(dest),)
            bodies = tuple(_heredoc(h, ins, resolver, env) for h in heredocs)
            return Resolved(ins, {}, args, heredocs=bodies)
        case ast.Expose(ports=ports):
            if env is None:
                return Resolved(ins, {}, ports)
            return Resolved(
                ins,
                {},
                tuple(
                    p for w in ports for p in expand_words(w, env, resolver.escape, ins, budget=resolver.budget)
                ),
            )
        case ast.Volume(paths=paths):
            return Resolved(ins, {}, tuple(word(p) for p in paths))
        case ast.User(user=value) | ast.Workdir(path=value) | ast.Stopsignal(signal=value):
            return Resolved(ins, {}, (word(value),))
        case ast.Run(command=command, heredocs=heredocs):
            return Resolved(ins, {}, command.args, heredocs=heredocs)
        case ast.Cmd(command=command) | ast.Entrypoint(command=command):
            return Resolved(ins, {}, command.args)
        case ast.Healthcheck(command=None):
            return Resolved(ins, {}, ("NONE",))
        case ast.Healthcheck(command=command):
            return Resolved(ins, {}, ("CMD", *command.args))
        case ast.Shell(shell=shell):
            return Resolved(ins, {}, shell)
        case ast.Maintainer(name=name):
            return Resolved(ins, {}, (name,))
        case ast.Onbuild(expression=expression):
            return Resolved(ins, {}, (expression,))
    return Resolved(ins, {}, ())


def _is_heredoc_word(source: str, names: set[str]) -> bool:
    bare = source.replace('"', "").replace("'", "")
    return bare in names


def _heredoc(
    doc: ast.Heredoc, ins: ast.Instruction, resolver: Resolver, env: RecordingEnv | None
) -> ast.Heredoc:
    if env is None or not doc.expand:
        return doc
    content = expand_word(doc.content, env, resolver.escape, ins, heredoc=True, budget=resolver.budget)
    return replace(doc, content=content)


def _flags(ins: ast.Instruction, word: Expander) -> dict[str, FlagValue]:
    """The instruction's flags, expanded where BuildKit expands them, in the order first written."""
    expanded = _EXPANDED_FLAGS.get(ins.keyword, ())
    flags: dict[str, FlagValue] = {}
    for flag in ins.flags:
        if flag.value is None:
            value: str | bool = True
        elif flag.name in expanded:
            value = word(flag.value)
        elif flag.name == "mount":
            value = _mount(flag.value, word)
        else:
            value = flag.value
        if flag.name in _REPEATED_FLAGS:
            previous = flags.get(flag.name, [])
            assert isinstance(previous, list)
            flags[flag.name] = [*previous, str(value)]
        else:
            flags[flag.name] = value
    return flags


def _mount(value: str, word: Expander) -> str:
    """A ``--mount`` value with every option but ``from`` (resolved before expansion) expanded."""
    parts = []
    for part in value.split(","):
        key, eq, option = part.partition("=")
        parts.append(f"{key}={option if key.strip().lower() == 'from' else word(option)}" if eq else part)
    return ",".join(parts)
