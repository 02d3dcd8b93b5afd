"""CMD: the default command (or ENTRYPOINT arguments) of the image."""

from __future__ import annotations

from builder.gofmt import quote_list
from builder.instructions.state import ImageState


def resolve(state: ImageState, args: list[str], exec_form: bool) -> list[str]:
    """The argv a command instruction stores: exec form as is, shell form through the stage's SHELL."""
    return list(args) if exec_form else [*state.shell, *args]


def set_or_drop(state: ImageState, key: str, argv: list[str]) -> None:
    """Store ``argv`` under ``key``; an empty one removes the key, as BuildKit omits empty lists."""
    if argv:
        state.config[key] = argv
    else:
        state.config.pop(key, None)


def apply(state: ImageState, args: list[str], exec_form: bool) -> str:
    """Set ``Cmd`` (``CMD []`` removes it)."""
    argv = resolve(state, args, exec_form)
    set_or_drop(state, "Cmd", argv)
    # BuildKit sets this deprecated Docker field for every CMD; Docker on Linux ignores it, but it is part
    # of the config digest, so we set it too.
    state.config["ArgsEscaped"] = True
    state.cmd_set = True
    return f"CMD {quote_list(argv)}"
