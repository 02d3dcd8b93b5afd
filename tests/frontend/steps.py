"""Resolve a Buildfile's instructions the way the executor does, without building anything (pure).

`resolved_steps` parses the text (`builder.syntax.parse`), plans it (`builder.plan.plan`) and expands each
instruction of its last stage with one `Resolver`, in the environment the executor gives that step: the base
image's ``Env`` (``image_env``; for ``FROM scratch`` BuildKit's default PATH), then each earlier step's ENV
pairs and ARG values. `apply_steps` runs the config instructions of those steps on an `ImageState` through the
table, as the executor does, skipping the layer steps (RUN, COPY, ADD).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from builder.frontend.config import CONFIG_INSTRUCTIONS, apply_config, records_history
from builder.instructions.state import ImageState
from builder.plan import Resolved, Resolver, plan
from builder.syntax import parse


def resolved_steps(
    text: str, *, image_env: Mapping[str, str] | None = None, build_args: Mapping[str, str] | None = None
) -> list[Resolved]:
    """Every instruction after the last stage's FROM, resolved in order."""
    the_plan = plan(parse(text), build_args=dict(build_args or {}))
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
    ``document`` (the base image's), and the history texts they recorded in order. As in the executor, the
    steps' environment starts from the base's ``Env``, and the image gets the default PATH if it has none."""
    state = ImageState(copy.deepcopy(document))
    image_env = state.env()
    state.ensure_default_path()
    history = []
    for resolved in resolved_steps(text, image_env=image_env, build_args=build_args):
        keyword = resolved.instruction.keyword
        if keyword not in CONFIG_INSTRUCTIONS:
            continue  # a layer step: no config change of its own
        created_by = apply_config(state, resolved)
        if records_history(keyword):
            history.append(created_by)
    return state.document, history
