"""RUN: the process a step runs, its environment, and its cache parts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from builder import runtime
from builder.errors import BuildError
from builder.instructions import run as run_ins
from builder.syntax import ast

if TYPE_CHECKING:
    from builder.executor import StageResult
    from builder.steps.runner import StepRunner

#: How many lines of a failed RUN's output the error shows.
OUTPUT_TAIL_LINES = 20


# --- RUN --------------------------------------------------------------------------------------------
def prepare_run(runner: StepRunner, step, result: StageResult, step_env: dict[str, str]):
    """Cache parts, the layer-filling function and the history text of a RUN step."""
    ins: ast.Run = step.instruction
    if "mount" in step.flags:
        raise BuildError("RUN --mount is not supported yet")
    state = result.state
    argv = run_argv(ins, result)
    build_args = [(name, step_env.get(name, value)) for name, value in result.args.items()]
    env = run_ins.step_env(state, build_args)
    network = str(step.flags.get("network", runner.options.network))
    if network not in ("default", "host", "none"):
        raise BuildError(f"unsupported network mode {network!r}: use default, host or none")
    spec = runtime.ProcessSpec(
        args=argv,
        env=env,
        cwd=state.workdir,
        user=state.user,
        network="none" if network == "none" else "host",
    )
    # The process environment is the image's ENV plus the build args no ENV overrides; keeping the two apart
    # lets a miss be explained as ARG or ENV. A shadowed ARG does not reach the process, so it is left out.
    image_env = state.env()
    parts = {
        "argv": argv,
        "env": [[k, v] for k, v in image_env.items()],
        "args": [[k, v] for k, v in build_args if k not in image_env],
        "user": spec.user,
        "cwd": spec.cwd,
        "network": spec.network,
        "flags": {name: value for name, value in sorted(step.flags.items()) if name != "network"},
    }
    lowers = runner.lowerdirs(result)

    def fill(upper: Path) -> None:
        tail: list[bytes] = []

        def output(chunk: bytes) -> None:
            runner.reporter.output(chunk)
            tail.append(chunk)
            if len(tail) > 200:
                del tail[:100]

        code = runtime.run_step(lowers, upper, spec, state_dir=runner.state_dir, output=output)
        if code != 0:
            text = b"".join(tail).decode("utf-8", "replace").splitlines()[-OUTPUT_TAIL_LINES:]
            raise BuildError(f"RUN exited with code {code}", output_tail="\n".join(text) or None)

    return parts, fill, run_ins.history_text(argv, [(k, v) for k, v in build_args])


def run_argv(ins: ast.Run, result: StageResult) -> list[str]:
    command = ins.command
    if ins.heredocs and not command.exec_form:
        line = command.args[0].strip()
        doc = ins.heredocs[0]
        if line.replace("'", "").replace('"', "") in (f"<<{doc.name}", f"<<-{doc.name}"):
            return [*result.state.shell, doc.content]
        raise BuildError("RUN with a heredoc as a command's input is not supported yet")
    return run_ins.argv(result.state, list(command.args), command.exec_form)
