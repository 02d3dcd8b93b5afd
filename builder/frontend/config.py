"""The config instructions: keyword → how it changes the image config, one signature for all.

Provisional form of the table: the lowering calls `apply_config` and `records_history`.
"""

from __future__ import annotations

from builder.errors import BuildError
from builder.instructions import (
    arg,
    cmd,
    entrypoint,
    env,
    expose,
    healthcheck,
    label,
    maintainer,
    onbuild,
    shell,
    stopsignal,
    user,
    volume,
    workdir,
)
from builder.instructions.state import ImageState
from builder.syntax import ast


def records_history(keyword: str) -> bool:
    """Whether BuildKit records a history entry for the instruction (not for ONBUILD)."""
    return keyword.upper() != "ONBUILD"


def apply_config(state: ImageState, resolved) -> str:
    """Apply config instruction ``resolved`` (a `builder.plan.resolve.Resolved`) to ``state``; its history
    text."""
    ins = resolved.instruction
    args = list(resolved.args)
    match ins:
        case ast.Env():
            return env.apply(state, list(resolved.sets))
        case ast.Label():
            return label.apply(state, [tuple(a.split("=", 1)) for a in args])
        case ast.Arg():
            return arg.history_text(list(resolved.defaults))
        case ast.Maintainer():
            return maintainer.apply(state, args[0])
        case ast.User():
            return user.apply(state, args[0])
        case ast.Volume():
            return volume.apply(state, args)
        case ast.Shell():
            return shell.apply(state, args)
        case ast.Onbuild():
            return onbuild.apply(state, args[0])
        case ast.Expose():
            return expose.apply(state, args)
        case ast.Stopsignal():
            return stopsignal.apply(state, args[0])
        case ast.Workdir():
            return workdir.apply(state, args[0])
        case ast.Cmd(command=command):
            return cmd.apply(state, list(command.args), command.exec_form)
        case ast.Entrypoint(command=command):
            return entrypoint.apply(state, list(command.args), command.exec_form)
        case ast.Healthcheck(command=command):
            options = {f.name: f.value for f in ins.flags}
            if command is None:
                return healthcheck.apply(state, None, False, options)
            return healthcheck.apply(state, list(command.args), command.exec_form, options)
    raise BuildError(f"{ins.keyword} is not supported")
