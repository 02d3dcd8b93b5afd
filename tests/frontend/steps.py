"""Resolve a Buildfile's instructions the way the executor does, without building anything (pure).

`resolved_steps` parses the text (`builder.syntax.parse`), plans it (`builder.plan.plan`) and expands each
instruction of its last stage with one `Resolver`, in the environment the executor gives that step: the base
image's ``Env`` (for ``FROM scratch`` BuildKit's default PATH), then each earlier step's ENV pairs and ARG
values. `apply_steps` runs the config instructions of the last stage and of the stages it is built on through
the table on an `ImageState`, as the executor does, skipping the layer steps (RUN, COPY, ADD).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from builder.frontend.config import CONFIG_INSTRUCTIONS, apply_config, records_history
from builder.instructions.state import ImageState
from builder.plan import Plan, Resolved, Resolver, SourceKind, Stage, plan
from builder.syntax import parse


def planned(text: str, build_args: Mapping[str, str] | None = None) -> Plan:
    return plan(parse(text), build_args=dict(build_args or {}))


def chain(the_plan: Plan) -> list[Stage]:
    """The last stage and the stages it is built on (``FROM <stage>``), the root first."""
    stages = [the_plan.stages[-1]]
    while stages[0].base.kind is SourceKind.STAGE:
        stages.insert(0, the_plan.stages[stages[0].base.stage or 0])
    return stages


def resolved_steps(
    text: str, *, image_env: Mapping[str, str] | None = None, build_args: Mapping[str, str] | None = None
) -> list[Resolved]:
    """Every instruction after the last stage's FROM, resolved in order (``image_env``: the base image's)."""
    the_plan = planned(text, build_args)
    stage = the_plan.stages[-1]
    resolver = Resolver(the_plan)
    env = resolver.start_env(stage, dict(image_env or {}))
    steps = []
    for instruction in stage.instructions:
        resolved = resolver.resolve(instruction, env)
        env.update(resolved.sets)
        steps.append(resolved)
    return steps


def apply_steps(
    document: dict, text: str, *, build_args: Mapping[str, str] | None = None
) -> tuple[dict, list[str]]:
    """The image document after the config instructions of ``text`` (a Buildfile) ran on a copy of
    ``document`` (the base image's: the root of the last stage's chain), and the history texts they recorded,
    in order. As in the executor, the steps' environment starts from the base's ``Env``, the image gets the
    default PATH if it has none, and each stage first runs the ONBUILD triggers of its base."""
    the_plan = planned(text, build_args)
    resolver = Resolver(the_plan)
    state = ImageState(copy.deepcopy(document))
    image_env = state.env()
    state.ensure_default_path()
    history = []
    for number, stage in enumerate(chain(the_plan)):
        state = state.copy() if number else state  # a stage built on a stage: CMD not set by it yet
        triggers = state.config.pop("OnBuild", None) or []
        parsed = [parse(f"FROM scratch\n{trigger}\n").instructions[1] for trigger in triggers]
        env = resolver.start_env(stage, image_env)
        for instruction in [*parsed, *stage.instructions]:
            resolved = resolver.resolve(instruction, env)
            env.update(resolved.sets)
            keyword = instruction.keyword
            if keyword not in CONFIG_INSTRUCTIONS:
                continue  # a layer step: no config change of its own
            created_by = apply_config(state, resolved)
            if records_history(keyword):
                history.append(created_by)
    return state.document, history
