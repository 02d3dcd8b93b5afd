"""WORKDIR: the directory it creates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from builder import runtime
from builder.errors import BuildError
from builder.fsops import copy as copy_ins
from builder.instructions import workdir as workdir_ins
from builder.runtime.users import chown_ids

if TYPE_CHECKING:
    from builder.buildtypes import StageResult
    from builder.steps.runner import StepRunner


def prepare_workdir(runner: StepRunner, step, result: StageResult):
    """WORKDIR creates its directory (owned by USER, as BuildKit does) in a layer of its own."""
    state = result.state
    created_by = workdir_ins.apply(state, step.args[0])
    path, who = state.workdir, state.user
    lowers = runner.lowerdirs(result)

    def fill(upper: Path) -> None:
        with runtime.overlay(lowers, upper, state_dir=runner.state_dir) as merged:
            # BuildKit creates it owned by USER, resolved as --chown resolves names
            owner = copy_ins.Ownership(*chown_ids(merged, who)) if who else copy_ins.Ownership()
            try:
                copy_ins.make_dirs(merged, path, owner)
            except BuildError as error:  # say what failed in WORKDIR's words, not COPY's
                raise BuildError(f"WORKDIR {path}: {error.message.split(': ', 1)[-1]}") from None

    return {"path": path, "user": who}, fill, created_by
