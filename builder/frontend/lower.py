"""Lowering: each needed stage of each platform's plan → its steps, the ops of its layer steps, and the image
config it ends with. Pure: base images were read before (`BaseImage`), and nothing here touches the machine.

A stage is walked as BuildKit's converter walks it: the base's ONBUILD triggers first, then each instruction
expanded in the environment of its step (`builder.plan.Resolver`); config instructions change the config at
once (`builder.frontend.config`), layer instructions become ops (`lowerops`) and a history entry whose time
the solver fills in. Errors are located at their instruction.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from builder.errors import BuildError
from builder.frontend.config import apply_config, records_history
from builder.frontend.graph import BaseImage, BuildGraph, ConfigStep, LayerStep, LoweredStage, StageKey
from builder.frontend.lowerops import LowerContext, lower_copy, lower_run, lower_workdir
from builder.instructions import workdir
from builder.instructions.state import ImageState
from builder.plan import Plan, Resolver, SourceKind, Stage
from builder.runoptions import RunOptions
from builder.syntax import ast, parse

#: ``$NAME`` and ``${NAME...}`` in an instruction's text: the variables whose values explain a miss.
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class LowerOptions:
    """What of a build's request lowering needs. ``context`` names steps across builds; ``named`` maps each
    ``--build-context`` name to its directory (a str) or image reference (None for neither)."""

    context: str
    created: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    network: str = "default"
    run_options: RunOptions = field(default_factory=RunOptions)
    allow: tuple[str, ...] = ()
    named_directories: Mapping[str, str] = field(default_factory=dict)
    named_images: Mapping[str, str] = field(default_factory=dict)
    no_cache_filter: tuple[str, ...] = ()


@dataclass
class _Walk:
    """A stage being lowered: its state and what later steps and stages take from it."""

    state: ImageState
    args: dict[str, str]
    root_env: dict[str, str] | None
    declared: list[str]
    base: BaseImage | None
    chain: list[LayerStep]


def lower(
    plans: list[Plan],
    bases: Mapping[StageKey, BaseImage],
    options: LowerOptions,
    *,
    scope: str = "",
    into: BuildGraph | None = None,
) -> BuildGraph:
    """The graph of every needed stage of ``plans`` (one per platform). ``bases`` holds the image each stage
    FROM an image starts on. With ``into``, the stages are added to that graph under ``scope`` (several
    build requests solved as one). Raises a located `BuildError` for an instruction that cannot be lowered."""
    graph = into if into is not None else BuildGraph({}, [])
    counter = _Counter(graph)
    several = len(plans) > 1
    for the_plan in plans:
        resolver = Resolver(the_plan)  # one per plan: it keeps each stage's final environment
        walks: dict[int, _Walk] = {}
        platform = str(the_plan.platform)
        for stage in the_plan.build_order():
            key = StageKey(platform, stage.index, scope)
            lowered, walk = _lower_stage(
                the_plan, stage, key, bases, walks, resolver, options, counter, several
            )
            walks[stage.index] = walk
            graph.stages[key] = lowered
        graph.targets.append(StageKey(platform, the_plan.target, scope))
    return graph


class _Counter:
    """Numbers layer steps: node ids across the graph, and positions per stage name across builds."""

    def __init__(self, graph: BuildGraph) -> None:
        self.nodes = max(
            (s.node for stage in graph.stages.values() for s in stage.own_layer_steps()), default=0
        )
        self.positions: dict[str, int] = {}

    def node(self) -> int:
        self.nodes += 1
        return self.nodes

    def position(self, stage_id: str) -> int:
        self.positions[stage_id] = self.positions.get(stage_id, 0) + 1
        return self.positions[stage_id]


def _start(stage: Stage, key: StageKey, bases: Mapping[StageKey, BaseImage], walks, created: str) -> _Walk:
    from builder.oci.config import new_config

    base = stage.base
    if base.kind is SourceKind.STAGE:
        parent = walks[base.stage or 0]
        # the values reach this stage's RUN steps, but BuildKit's history lists this stage's own ARGs
        return _Walk(
            parent.state.copy(), dict(parent.args), parent.root_env, [], parent.base, list(parent.chain)
        )
    if base.kind is SourceKind.SCRATCH:
        state = ImageState(new_config(stage.platform, created=created))
        state.ensure_default_path()
        state.config["WorkingDir"] = "/"  # BuildKit's empty image has it
        return _Walk(state, {}, {}, [], None, [])
    image = bases[key]
    state = ImageState(copy.deepcopy(image.config))
    state.layers = list(image.diff_ids)
    state.base_history = len(state.document.get("history") or [])
    root_env = state.env()
    state.ensure_default_path()
    return _Walk(state, {}, root_env, [], image, [])


def _lower_stage(
    the_plan: Plan,
    stage: Stage,
    key: StageKey,
    bases: Mapping[StageKey, BaseImage],
    walks: dict[int, _Walk],
    resolver: Resolver,
    options: LowerOptions,
    counter: _Counter,
    several: bool,
) -> tuple[LoweredStage, _Walk]:
    walk = _start(stage, key, bases, walks, options.created)
    state = walk.state
    # the base's ONBUILD triggers run first and are consumed, whether the base is an image or a stage
    triggers = list(state.config.pop("OnBuild", None) or [])
    instructions = [*_triggers(stage, triggers), *stage.instructions]
    step_env = resolver.start_env(stage, walk.root_env)
    step_env.update(walk.args)
    # a bake's steps name their target first, as buildx bake's progress does
    prefix = (f"{key.scope} " if key.scope else "") + (
        f"{_platform_prefix(stage, the_plan)} " if several else ""
    )
    total = len(stage.instructions) + 1
    filtered = options.no_cache_filter
    lowered = LoweredStage(
        key,
        stage,
        stage.label,
        walk.base,
        replace(key, index=stage.base.stage or 0) if stage.base.kind is SourceKind.STAGE else None,
        [],
        state,
        no_cache=stage.name in filtered or str(stage.index) in filtered,
    )
    context = LowerContext(the_plan, stage, options)
    stage_id = f"{options.context}|{{file}}|{stage.name or stage.index}"
    for number, instruction in enumerate(instructions, start=2):
        label = f"[{prefix}{stage.label} {min(number, total)}/{total}]"
        text = instruction.original.strip()
        try:
            step = resolver.resolve(instruction, step_env)
            ins = step.instruction
            made = _layer_op(ins, step, walk, step_env, context)
            if made is None:
                created_by = _config(ins, step, state)
                if created_by is not None:
                    state.add_history(created_by, created=None, empty_layer=True)
                lowered.steps.append(ConfigStep(label, text, ins.span))
            else:
                sid = stage_id.format(file=ins.span.file)
                about = {"vars": _referenced(ins.original, step_env, state)}
                state.add_history(made.history(), created=None, empty_layer=False)
                layer = LayerStep(
                    counter.node(),
                    made,
                    label,
                    text,
                    ins.span,
                    f"{sid}|{counter.position(sid)}",
                    about,
                    len(state.document["history"]) - 1,
                )
                lowered.steps.append(layer)
                walk.chain.append(layer)
        except BuildError as error:
            raise error.with_span(instruction.span) from None
        step_env.update(step.sets)
        if isinstance(instruction, ast.Arg):
            walk.args.update(step.sets)
            walk.declared += [d.name for d in instruction.args if d.name not in walk.declared]
    lowered.chain = list(walk.chain)
    return lowered, walk


def _layer_op(ins: ast.Instruction, step, walk: _Walk, step_env: dict[str, str], context: LowerContext):
    """The op of a layer step, or None for a config-only step. WORKDIR of the root makes no layer in
    BuildKit (the root always exists)."""
    state = walk.state
    if isinstance(ins, ast.Workdir):
        if workdir.clean(workdir.resolve(state.workdir, step.args[0])) == "/":
            return None
        return lower_workdir(state, step)
    if isinstance(ins, ast.Run):
        return lower_run(context, step, state, walk.args, walk.declared, step_env)
    if isinstance(ins, ast.CopyLike):
        return lower_copy(context, step, state)
    return None


def _config(ins: ast.Instruction, step, state: ImageState) -> str | None:
    """Apply a config instruction; its history text, or None where BuildKit records none (ONBUILD)."""
    created_by = apply_config(state, step)
    return created_by if records_history(ins.keyword) else None


def _triggers(stage: Stage, triggers: list[str]) -> list[ast.Instruction]:
    """ONBUILD triggers of the base, parsed, to run before the stage's own instructions."""
    parsed: list[ast.Instruction] = []
    for trigger in triggers:
        buildfile = parse(f"FROM scratch\n{trigger}\n", f"{stage.source.image} ONBUILD")
        parsed.extend(buildfile.instructions[1:])
    return parsed


def _platform_prefix(stage: Stage, the_plan: Plan) -> str:
    """BuildKit's step prefix when building several platforms: the stage's platform, and ``->ARCH`` of the
    target when the stage runs on another (``linux/amd64->arm64`` for a BUILDPLATFORM stage)."""
    own, target = stage.platform, the_plan.platform
    if own == target:
        return str(own)
    return f"{own}->{target.architecture}" + (f"/{target.variant}" if target.variant else "")


def _referenced(text: str, step_env: dict[str, str], state: ImageState) -> dict[str, list]:
    """``{name: [ARG|ENV, value]}`` for each variable the instruction's text refers to."""
    image_env = state.env()
    found: dict[str, list] = {}
    for name in _VARIABLE.findall(text):
        value = step_env.get(name)
        kind = "ENV" if name in image_env and image_env[name] == value else "ARG"
        found[name] = [kind, value]
    return found


def context_identity(context: Path) -> str:
    """How a build names its context in step identities (an absolute path, symlinks resolved)."""
    return str(context.resolve())
