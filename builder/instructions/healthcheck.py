"""HEALTHCHECK: how the runtime checks that the container is healthy."""

from __future__ import annotations

from builder.errors import BuildError
from builder.gofmt import duration, parse_duration, quote_list, quote_rune
from builder.instructions.state import ImageState

#: flag name → config field, in the order Docker's HealthConfig declares them.
DURATION_FLAGS = {
    "interval": "Interval",
    "timeout": "Timeout",
    "start-period": "StartPeriod",
    "start-interval": "StartInterval",
}


def apply(state: ImageState, args: list[str] | None, exec_form: bool, options: dict[str, str]) -> str:
    """``args`` None is ``HEALTHCHECK NONE``. ``options`` maps flag names (``interval``, ``retries`` …) to
    their values as written. Returns the history text, which BuildKit formats with Go's ``%q`` of the
    config struct."""
    if args is None:
        test = ["NONE"]
    elif exec_form:
        test = ["CMD", *args]
    else:
        test = ["CMD-SHELL", " ".join(args)]
    config: dict = {"Test": test}
    durations = {}
    for flag, field in DURATION_FLAGS.items():
        value = options.get(flag)
        nanos = 0
        if value is not None:
            try:
                nanos = parse_duration(value)
            except ValueError:
                raise BuildError(f"invalid value for --{flag}: {value!r} (e.g. 30s)") from None
            if nanos < 0 or (0 < nanos < 1_000_000):
                raise BuildError(f"--{flag} cannot be less than 1ms")
        durations[field] = nanos
        if nanos:
            config[field] = nanos
    retries = 0
    if options.get("retries") is not None:
        try:
            retries = int(options["retries"])
        except ValueError:
            raise BuildError(f"invalid value for --retries: {options['retries']!r}") from None
        if retries < 0:
            raise BuildError("--retries cannot be negative")
        if retries:
            config["Retries"] = retries
    state.config["Healthcheck"] = config
    parts = [quote_list(test), *(f'"{duration(v)}"' for v in durations.values()), quote_rune(retries)]
    return "HEALTHCHECK &{" + " ".join(parts) + "}"
