"""From a parsed Buildfile to a validated `Plan`: global ARGs, stages, bases, the stage graph, the target.

BuildKit's rules, in the order it applies them:

* Only ARG may come before the first FROM. Those global ARGs take ``--build-arg`` values, else their default
  expanded with the earlier global ARGs and the predefined platform ARGs (BUILDPLATFORM, TARGETOS, …).
* Each FROM is expanded with that global scope alone. ``scratch`` is the empty base; a name that an *earlier*
  stage carries (exactly: stage names are lower case, FROM is not folded) is that stage; anything else must be
  a valid image reference. A stage named with ``AS`` must match ``[a-z][a-z0-9-_.]*`` and be unique.
* ``COPY --from`` (a number is a stage index, else a stage name in any case, else ``scratch`` or an image) and
  ``RUN --mount=…,from=`` (a stage name or an image) add edges to the stage graph; they are taken as written,
  not expanded, as BuildKit resolves them before expansion. Any stage may be named, also a later one, so
  cycles are possible and rejected.
* The target is the last stage or ``--target`` (any case); the build needs the target and, transitively,
  every stage it reads from. Other stages are still validated as above but not expanded or run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from builder.errors import BuildError, PlanError, Span
from builder.expand.limits import Budget
from builder.plan.model import PROXY_ARGS, Base, Dependency, Plan, SourceKind, Stage
from builder.plan.words import expand_word, locate
from builder.platforms import Platform
from builder.syntax.ast import Arg, Buildfile, Copy, From, Instruction, Run

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_INDEX = re.compile(r"^[+-]?[0-9]+$")


def plan(
    buildfile: Buildfile,
    *,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    platform: Platform | None = None,
    build_platform: Platform | None = None,
    contexts: Mapping[str, str | None] | None = None,
) -> Plan:
    """Plan ``buildfile`` for ``target`` (default: the last stage) on ``platform`` (default: the host).

    Pure: reads nothing, runs nothing. Raises `PlanError` (exit code 2), located in the Buildfile whenever
    the fault is in it, for everything the module docstring rejects; `ExpansionError` from ``${v:?msg}`` in a
    FROM line or a global ARG default. ``contexts`` are ``--build-context`` names: each stands in FROM for the
    image it maps to (a directory context, None, keeps its name), unless a stage has that name.
    """
    build_args = dict(build_args or {})
    platform = platform or Platform.host()
    build_platform = build_platform or Platform.host()
    predefined = {**build_platform.build_args("BUILD"), **platform.build_args("TARGET")}
    predefined.update({k: v for k, v in build_args.items() if k in predefined})

    instructions = buildfile.instructions
    first_from = next((i for i, ins in enumerate(instructions) if isinstance(ins, From)), None)
    preamble = instructions if first_from is None else instructions[:first_from]
    budget = Budget()  # for the words of global ARGs and FROM lines (see builder.expand.limits)
    global_args, scope = _global_args(preamble, predefined, build_args, buildfile.escape, budget)
    if first_from is None:
        raise PlanError(
            "the Buildfile has no FROM instruction: there is no stage to build",
            instructions[-1].span if instructions else Span(buildfile.path, 1),
        )

    stages = _stages(buildfile, instructions[first_from:], scope, platform, contexts or {}, budget)
    names = {s.name: s.index for s in stages if s.name is not None}
    stages = [replace(s, deps=s.deps + _copy_and_mount_deps(s, names, len(stages))) for s in stages]
    _reject_cycles(stages)

    target_index = len(stages) - 1
    if target is not None:
        if target.lower() not in names:
            known = ", ".join(sorted(names)) or "none (no stage has a name)"
            raise PlanError(f"target stage {target!r} could not be found", hint=f"stage names: {known}")
        target_index = names[target.lower()]
    needed = _needed(stages, target_index)
    stages = [replace(s, needed=s.index in needed) for s in stages]

    declared = set(predefined) | set(PROXY_ARGS) | set(global_args)
    for ins in instructions:
        if isinstance(ins, Arg):
            declared.update(a.name for a in ins.args)
    return Plan(
        buildfile=buildfile,
        stages=tuple(stages),
        target=target_index,
        platform=platform,
        build_platform=build_platform,
        build_args=build_args,
        global_args=global_args,
        global_scope=scope,
        proxy_env={k: v for k, v in build_args.items() if k in PROXY_ARGS},
        unused_build_args=tuple(sorted(k for k in build_args if k not in declared)),
    )


def _global_args(
    preamble: tuple[Instruction, ...],
    predefined: dict[str, str],
    build_args: Mapping[str, str],
    escape: str,
    budget: Budget,
) -> tuple[dict[str, str | None], dict[str, str]]:
    """The global ARGs (with overrides) and the scope FROM lines see. Rejects non-ARG instructions."""
    values: dict[str, str | None] = {}
    scope = dict(predefined)
    for ins in preamble:
        if not isinstance(ins, Arg):
            raise PlanError(
                f"{ins.keyword} before the first FROM: only ARG may come before FROM (no build stage yet)",
                ins.span,
            )
        for decl in ins.args:
            if decl.name in build_args:
                value: str | None = build_args[decl.name]
            elif decl.default is not None:
                value = expand_word(decl.default, scope, escape, ins, budget=budget)
            else:
                value = None
            values[decl.name] = value
            if value is None:
                scope.pop(decl.name, None)
            else:
                scope[decl.name] = value
    return values, scope


def _stages(
    buildfile: Buildfile,
    body: tuple[Instruction, ...],
    scope: Mapping[str, str],
    platform: Platform,
    contexts: Mapping[str, str | None],
    budget: Budget,
) -> list[Stage]:
    """Split ``body`` (starting with a FROM) into stages and resolve each FROM against the earlier ones."""
    starts = [i for i, ins in enumerate(body) if isinstance(ins, From)] + [len(body)]
    stages: list[Stage] = []
    names: dict[str, int] = {}
    for index, (start, end) in enumerate(zip(starts, starts[1:], strict=False)):
        source = body[start]
        assert isinstance(source, From)
        name = _stage_name(source)
        base = _base(source, scope, names, buildfile.escape, contexts, budget)
        flag = source.flag("platform")
        platform_text = None if flag is None else _expand_flag(source, flag, scope, buildfile.escape, budget)
        if base.stage is not None:
            # BuildKit gives a stage built on another stage that stage's platform, whatever --platform says.
            stage_platform = stages[base.stage].platform
            deps: tuple[Dependency, ...] = (
                Dependency(SourceKind.STAGE, base.ref, "FROM", source.span, base.stage),
            )
        else:
            stage_platform = platform if platform_text is None else _parse_platform(source, platform_text)
            deps = ()
        stages.append(
            Stage(index, name, source, base, stage_platform, platform_text, body[start + 1 : end], deps)
        )
        if name is not None:
            names[name] = index
    return stages


def _stage_name(source: From) -> str | None:
    name = source.stage_name
    if name is None:
        return None
    name = name.lower()
    span = _locate_last(source, name)
    if not _STAGE_NAME.match(name):
        raise PlanError(
            f"invalid name for build stage: {name!r}, name can't start with a number or contain symbols", span
        )
    # A name used twice is no error (BuildKit v0.13 builds it; the DuplicateStageName check warns): FROM sees
    # the latest stage of that name above it, COPY --from, RUN --mount from= and --target the last one.
    return name


def _base(
    source: From,
    scope: Mapping[str, str],
    names: Mapping[str, int],
    escape: str,
    contexts: Mapping[str, str | None],
    budget: Budget,
) -> Base:
    ref = expand_word(source.image, scope, escape, source, budget=budget)
    span = locate(source, source.image)
    if not ref:
        raise PlanError(f"base name ({source.image}) should not be blank", span)
    if ref in names:
        return Base(SourceKind.STAGE, source.image, ref, names[ref])
    if ref in contexts:
        # an image context stands for its image; a directory keeps its name, which the builder looks up
        return Base(SourceKind.IMAGE, source.image, contexts[ref] or ref)
    if ref == "scratch":
        return Base(SourceKind.SCRATCH, source.image, ref)
    problem = _image_ref_problem(ref)
    if problem:
        raise PlanError(f"FROM {ref}: not an earlier stage's name, and {problem}", span)
    return Base(SourceKind.IMAGE, source.image, ref)


def _copy_and_mount_deps(stage: Stage, names: Mapping[str, int], count: int) -> tuple[Dependency, ...]:
    """The stage's ``COPY --from`` and ``RUN --mount from=`` sources, validated, in instruction order."""
    deps: list[Dependency] = []
    for ins in stage.instructions:
        if isinstance(ins, Copy):
            for flag in ins.flags:
                if flag.name == "from" and flag.value:
                    deps.append(_source(stage, "COPY --from", flag.value, flag.span, names, count))
        elif isinstance(ins, Run):
            for flag in ins.flags:
                if flag.name == "mount" and flag.value:
                    value = mount_fields(flag.value).get("from")
                    if value:
                        deps.append(_source(stage, "RUN --mount", value, flag.span, names, count))
    return tuple(deps)


def _source(stage: Stage, via: str, value: str, span: Span, names: Mapping[str, int], count: int) -> Dependency:
    """Resolve one ``--from``/``from=`` value: a stage index (COPY only), a stage name, scratch, or an image."""
    copy = via == "COPY --from"
    written = f"{via}={value}" if copy else f"{via} from={value}"
    index: int | None = None
    if copy and _INDEX.match(value):
        index = int(value)
        if not 0 <= index < count:
            raise PlanError(f"{written}: invalid stage index {index} (stages are 0 to {count - 1})", span)
    elif value.lower() in names:
        index = names[value.lower()]
    if index == stage.index:
        raise PlanError(f"{written} refers to the stage it is in ({stage.label})", span)
    if index is not None:
        return Dependency(SourceKind.STAGE, value, via, span, index)
    if value == "scratch":
        return Dependency(SourceKind.SCRATCH, value, via, span)
    problem = _image_ref_problem(value)
    if problem:
        raise PlanError(f"{written}: no stage has this name, and {problem}", span)
    return Dependency(SourceKind.IMAGE, value, via, span)


def _reject_cycles(stages: list[Stage]) -> None:
    """Raise on the first dependency cycle found.

    The error points at the cycle's first reference to a later stage: FROM can only name earlier stages, so
    every cycle has one, and it is the line to change. A depth-first search with its own stack, not
    recursion: a chain of thousands of ``COPY --from`` references is a valid Buildfile.
    """
    state = [0] * len(stages)  # 0 unvisited, 1 on the current path, 2 finished
    path: list[int] = []
    edges: list[Dependency] = []  # edges[i] leads from path[i] to path[i + 1]
    for first in stages:
        if state[first.index] != 0:
            continue
        state[first.index] = 1
        path.append(first.index)
        pending = [iter(first.deps)]  # the dependencies still to follow, one iterator per stage on the path
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                pending.pop()
                state[path.pop()] = 2
                if edges:
                    edges.pop()
                continue
            if dep.stage is None:
                continue
            if state[dep.stage] == 1:
                start = path.index(dep.stage)
                cycle = path[start:] + [dep.stage]
                shown = " -> ".join(stages[i].label for i in cycle)
                loop = [*edges[start:], dep]
                forward = next(e for i, e in zip(cycle, loop, strict=False) if (e.stage or 0) >= i)
                raise PlanError(f"circular dependency between stages: {shown}", forward.span)
            if state[dep.stage] == 0:
                edges.append(dep)
                state[dep.stage] = 1
                path.append(dep.stage)
                pending.append(iter(stages[dep.stage].deps))


def _needed(stages: list[Stage], target: int) -> set[int]:
    needed: set[int] = set()
    todo = [target]
    while todo:
        index = todo.pop()
        if index not in needed:
            needed.add(index)
            todo.extend(stages[index].stage_deps)
    return needed


def mount_fields(value: str) -> dict[str, str]:
    """The ``key=value`` fields of a ``--mount`` value (keys lower case; a bare key maps to ``""``)."""
    fields: dict[str, str] = {}
    for part in value.split(","):
        key, _, field_value = part.partition("=")
        fields[key.strip().lower()] = field_value.strip()
    return fields


def _expand_flag(ins: From, value: str, scope: Mapping[str, str], escape: str, budget: Budget) -> str:
    """The ``--platform`` value expanded in the global scope; errors point at the flag."""
    flag = next(f for f in ins.flags if f.name == "platform")
    try:
        return expand_word(value, scope, escape, ins, budget=budget)
    except BuildError as error:
        error.span = flag.span
        raise


def _parse_platform(source: From, text: str) -> Platform:
    flag_span = next(f.span for f in source.flags if f.name == "platform")
    try:
        return Platform.parse(text)
    except PlanError as error:
        raise error.with_span(flag_span) from None


def _image_ref_problem(text: str) -> str | None:
    """Why ``text`` is not a valid image reference (BuildKit's grammar), or None when it is one."""
    from builder.refs import parse_ref

    try:
        parse_ref(text)
    except BuildError as error:
        return f"it is not a valid image reference: {error.message}"
    return None


def _locate_last(ins: Instruction, word: str) -> Span:
    """Like `locate`, for the last occurrence of ``word`` (any case): the stage name after ``AS``."""
    source = ins.span.source_line or ""
    at = source.lower().rfind(word.lower())
    return replace(ins.span, column=at + 1) if at >= 0 else ins.span
