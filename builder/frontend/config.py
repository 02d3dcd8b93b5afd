"""The config instructions as one table: keyword → ``apply(state, resolved) -> history text``.

Each config instruction changes only the image config of the stage it is in (no layer): ENV, LABEL, ARG,
MAINTAINER, USER, VOLUME, SHELL, ONBUILD, EXPOSE, STOPSIGNAL, CMD, ENTRYPOINT, HEALTHCHECK, and WORKDIR's change
of ``WorkingDir`` (the directory WORKDIR also creates is a layer step of its own, made elsewhere). Every entry
has the same signature: it takes the stage's `ImageState`, changes it in place, and returns the ``created_by``
text BuildKit v0.13 records in the history. The arguments come from the `Resolved` instruction (expanded where
BuildKit expands them); what expansion keeps as written (the exec/shell form of a command, HEALTHCHECK's
flags) from its instruction. The keyword-specific rules live in ``builder.instructions.<keyword>``; the entries
here only adapt them to the one signature.

Pure: nothing here reads files or runs anything. Errors are `BuildError` without a span; the caller locates
them at the instruction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

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
from builder.plan.resolve import Resolved
from builder.syntax import ast

#: The one signature of a config instruction: change ``state`` as ``resolved`` says, return the history text.
ConfigApply = Callable[[ImageState, Resolved], str]

#: Keywords whose instruction BuildKit records no history entry for.
_NO_HISTORY = frozenset({"ONBUILD"})


def _command(resolved: Resolved) -> ast.Command:
    """The command of a CMD or ENTRYPOINT as parsed: its form is not part of the resolved arguments."""
    ins = resolved.instruction
    if not isinstance(ins, ast.Cmd | ast.Entrypoint):
        raise TypeError(f"{ins.keyword} has no command")
    return ins.command


def _env(state: ImageState, resolved: Resolved) -> str:
    return env.apply(state, list(resolved.sets))


def _label(state: ImageState, resolved: Resolved) -> str:
    # each argument is ``key=value`` as expanded; the first ``=`` separates them
    return label.apply(state, [(key, value) for key, _, value in (a.partition("=") for a in resolved.args)])


def _arg(state: ImageState, resolved: Resolved) -> str:
    # ARG changes no config; its history shows each default as expanded, never a --build-arg override
    return arg.history_text(list(resolved.defaults))


def _maintainer(state: ImageState, resolved: Resolved) -> str:
    return maintainer.apply(state, resolved.args[0])


def _user(state: ImageState, resolved: Resolved) -> str:
    return user.apply(state, resolved.args[0])


def _volume(state: ImageState, resolved: Resolved) -> str:
    return volume.apply(state, list(resolved.args))


def _shell(state: ImageState, resolved: Resolved) -> str:
    return shell.apply(state, list(resolved.args))


def _onbuild(state: ImageState, resolved: Resolved) -> str:
    return onbuild.apply(state, resolved.args[0])


def _expose(state: ImageState, resolved: Resolved) -> str:
    return expose.apply(state, list(resolved.args))


def _stopsignal(state: ImageState, resolved: Resolved) -> str:
    return stopsignal.apply(state, resolved.args[0])


def _cmd(state: ImageState, resolved: Resolved) -> str:
    command = _command(resolved)
    return cmd.apply(state, list(command.args), command.exec_form)


def _entrypoint(state: ImageState, resolved: Resolved) -> str:
    command = _command(resolved)
    return entrypoint.apply(state, list(command.args), command.exec_form)


def _healthcheck(state: ImageState, resolved: Resolved) -> str:
    ins = resolved.instruction
    if not isinstance(ins, ast.Healthcheck):
        raise TypeError(f"{ins.keyword} is not HEALTHCHECK")
    # the flags as written (None for a bare flag): healthcheck.apply parses and checks the durations
    options = {f.name: f.value for f in ins.flags}
    if ins.command is None:
        return healthcheck.apply(state, None, False, options)
    return healthcheck.apply(state, list(ins.command.args), ins.command.exec_form, options)


def _workdir(state: ImageState, resolved: Resolved) -> str:
    return workdir.apply(state, resolved.args[0])


#: Upper-case keyword → its `ConfigApply`. Read-only.
CONFIG_INSTRUCTIONS: Mapping[str, ConfigApply] = MappingProxyType(
    {
        "ENV": _env,
        "LABEL": _label,
        "ARG": _arg,
        "MAINTAINER": _maintainer,
        "USER": _user,
        "VOLUME": _volume,
        "SHELL": _shell,
        "ONBUILD": _onbuild,
        "EXPOSE": _expose,
        "STOPSIGNAL": _stopsignal,
        "CMD": _cmd,
        "ENTRYPOINT": _entrypoint,
        "HEALTHCHECK": _healthcheck,
        "WORKDIR": _workdir,
    }
)


def apply_config(state: ImageState, resolved: Resolved) -> str:
    """Apply the config instruction ``resolved`` to ``state`` (in place) and return its history text.

    The text is returned for every keyword, ONBUILD's too; whether it goes into the history is
    `records_history`'s answer. Raises `BuildError` (no span) for a keyword that is not a config
    instruction, and for a value its keyword refuses (``EXPOSE 80/xyz``, ``STOPSIGNAL NOPE`` …)."""
    keyword = resolved.instruction.keyword
    entry = CONFIG_INSTRUCTIONS.get(keyword)
    if entry is None:
        raise BuildError(f"{keyword} is not supported")
    return entry(state, resolved)


def records_history(keyword: str) -> bool:
    """Whether config instruction ``keyword`` (upper case) adds an entry to the image's history: all do but
    ONBUILD, as in BuildKit."""
    return keyword not in _NO_HISTORY
