"""RUN: execute a command in a throwaway container; its filesystem changes become the step's layer."""

from __future__ import annotations

from builder.instructions.state import ImageState


def argv(state: ImageState, args: list[str], exec_form: bool) -> list[str]:
    """The process to start: exec form as is, shell form through the stage's SHELL."""
    return list(args) if exec_form else [*state.shell, *args]


def history_text(process_argv: list[str], build_args: list[tuple[str, str]]) -> str:
    """BuildKit's ``created_by``: ``RUN |2 A=1 B=2 /bin/sh -c make # buildkit``; the ``|N`` part lists the
    build arguments declared in the stage, in declaration order, as the step sees them (``NAME=`` for one
    without a value)."""
    prefix = ""
    if build_args:
        prefix = f"|{len(build_args)} " + " ".join(f"{k}={v}" for k, v in build_args) + " "
    return f"RUN {prefix}{' '.join(process_argv)} # buildkit"


def step_env(state: ImageState, build_args: list[tuple[str, str]]) -> list[str]:
    """The process environment: the image's ENV, plus build arguments that no ENV overrides (BuildKit passes
    ARG values to RUN steps as environment variables without storing them in the image)."""
    env = state.env()
    merged = dict(build_args)
    merged.update(env)
    order = list(env) + [k for k, _ in build_args if k not in env]
    return [f"{k}={merged[k]}" for k in order]
