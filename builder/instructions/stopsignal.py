"""STOPSIGNAL: the signal that stops the container."""

from __future__ import annotations

import signal

from builder.errors import BuildError
from builder.instructions.state import ImageState


def validate(value: str) -> None:
    """Accept what Docker's signal.ParseSignal accepts: a positive number, ``KILL`` or ``SIGKILL``."""
    if value.isdigit():
        if int(value) > 0:
            return
    else:
        name = value.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        if name in signal.Signals.__members__ or name.startswith("SIGRTM"):
            return
    raise BuildError(f"Invalid signal: {value}")


def apply(state: ImageState, value: str) -> str:
    validate(value)
    state.config["StopSignal"] = value
    return f"STOPSIGNAL {value}"
