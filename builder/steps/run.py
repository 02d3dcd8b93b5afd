"""RUN: the process a step runs, its environment, and its cache parts."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from builder import runtime
from builder.errors import BuildError
from builder.instructions import run as run_ins
from builder.instructions.proxy import proxy_env
from builder.mounts import MountInputs, cache_parts, mounted, parse_step_mounts
from builder.mounts.selections import Selections
from builder.syntax import ast

if TYPE_CHECKING:
    from builder.buildtypes import StageResult
    from builder.steps.runner import StepRunner

#: Flags with cache parts of their own.
_KEYED_APART = ("network", "mount")
#: How many lines of a failed RUN's output the error shows.
OUTPUT_TAIL_LINES = 20


# --- RUN --------------------------------------------------------------------------------------------
def prepare_run(
    runner: StepRunner, step, result: StageResult, step_env: dict[str, str], *, stage=None, results=None
):
    """Cache parts, the layer-filling function and the history text of a RUN step.

    ``stage`` and ``results`` (the stages built so far, by index) let ``--mount from=`` name a stage.
    """
    ins: ast.Run = step.instruction
    state = result.state
    mounts = parse_step_mounts(
        list(step.flags.get("mount", [])), [f.span for f in ins.flags if f.name == "mount"], state.workdir
    )
    inputs = _mount_inputs(runner, stage, results or {})
    privileged = _privileged(runner, step, ins)
    argv = run_argv(ins, result)
    script = shebang_script(ins)
    build_args = [(name, step_env.get(name, value)) for name, value in result.args.items()]
    env = run_ins.step_env(state, build_args)
    # proxies reach the process without an ARG line, after ENV and ARG of the same name; not in the key
    present = {entry.split("=", 1)[0] for entry in env}
    env += [f"{k}={v}" for k, v in proxy_env(runner.options.build_args) if k not in present]
    network = str(step.flags.get("network", runner.options.network))
    if network not in ("default", "host", "none"):
        raise BuildError(f"unsupported network mode {network!r}: use default, host or none")
    spec = runtime.ProcessSpec(
        args=argv,
        env=env,
        cwd=state.workdir,
        user=state.user,
        network="none" if network == "none" else "host",
        privileged=privileged,
        extra_hosts=list(runner.options.run_options.extra_hosts),
        ulimits=[(u.name, u.soft, u.hard) for u in runner.options.run_options.ulimits],
        shm_size=runner.options.run_options.shm_size,
    )
    # The process environment is the image's ENV plus the build args no ENV overrides; keeping the two apart
    # lets a miss be explained as ARG or ENV. A shadowed ARG does not reach the process, so it is left out.
    image_env = state.env()
    parts = {
        # the process runs for the stage's platform (emulated or not): the one part that follows it
        "platform": str(stage.platform) if stage is not None else None,
        "argv": argv,
        "env": [[k, v] for k, v in image_env.items()],
        "args": [[k, v] for k, v in build_args if k not in image_env],
        "user": spec.user,
        "cwd": spec.cwd,
        "network": spec.network,
        "flags": {name: value for name, value in sorted(step.flags.items()) if name not in _KEYED_APART},
        **runner.options.run_options.key_parts(),
    }
    if mounts:
        parts["mounts"] = cache_parts(mounts, inputs)
        if inputs.used:  # carried with the record, so a build that imports it need not read the stages
            parts["selections"] = dict(inputs.used)
    if script is not None:
        parts["script"] = script.content
    lowers = runner.lowerdirs(result)

    progress = runner.progress_step

    def fill(upper: Path) -> None:
        tail: list[bytes] = []

        def output(chunk: bytes) -> None:
            progress.output(chunk)
            tail.append(chunk)
            if len(tail) > 200:
                del tail[:100]

        names = {entry.split("=", 1)[0] for entry in spec.env}
        with mounted(mounts, inputs, env_names=names) as made:
            # a secret exposed as a variable replaces a variable of that name, as in BuildKit
            replaced = {entry.split("=", 1)[0] for entry in made.env}
            env = [e for e in spec.env if e.split("=", 1)[0] not in replaced] + made.env
            state_dir = made.state_dir or runner.state_dir
            with tempfile.TemporaryDirectory(dir=state_dir) as scratch:
                extra = list(made.mounts)
                if script is not None:
                    extra.append(_script_mount(script, Path(scratch)))
                process = replace(spec, env=env, extra_mounts=extra)
                code = runtime.run_step(lowers, upper, process, state_dir=state_dir, output=output)
        if code != 0:
            text = b"".join(tail).decode("utf-8", "replace").splitlines()[-OUTPUT_TAIL_LINES:]
            raise BuildError(f"RUN exited with code {code}", output_tail="\n".join(text) or None)

    # BuildKit lists every declared ARG, one without a value as ``NAME=``, an ENV of that name winning
    shown = [(name, step_env.get(name, result.args.get(name, ""))) for name in result.declared]
    return parts, fill, run_ins.history_text(argv, shown)


def _privileged(runner: StepRunner, step, ins: ast.Run) -> bool:
    """Whether the step runs with ``--security=insecure``, which ``--allow security.insecure`` must grant."""
    security = str(step.flags.get("security", "sandbox"))
    if security != "insecure":
        return False
    if "security.insecure" not in runner.options.allow:
        span = next((f.span for f in ins.flags if f.name == "security"), None)
        hint = "pass --allow security.insecure to grant it"
        raise BuildError("RUN --security=insecure is not allowed for this build", span, hint=hint)
    return True


def _mount_inputs(runner: StepRunner, stage, results: dict) -> MountInputs:
    """What ``--mount`` takes from this build: stages built so far, images (pulled as FROM pulls them when
    the store lacks them), the context."""

    def layers_of(name: str) -> tuple[list[Path], str]:
        try:
            return runner.layers_of(name, stage, results)
        except BuildError as error:
            raise BuildError(f"--mount from={name}: {error.message}") from None

    options = runner.options
    return MountInputs(
        store=runner.store,
        state_dir=runner.state_dir,
        context=Path(options.context),
        layers_of=layers_of,
        context_included=runner.copies.context_rule,
        secrets={source.id: source for source in options.secrets},
        ssh={source.id: source for source in options.ssh},
        selections=Selections(runner.store.state_dir("selections"), runner.shared.selections),
    )


def shebang_script(ins: ast.Run) -> ast.Heredoc | None:
    """The heredoc of ``RUN <<EOF`` whose body starts with ``#!``: BuildKit v0.13 runs such a body as an
    executable file at ``/dev/pipes/EOF`` (its interpreter from the ``#!`` line), not as shell text."""
    command = ins.command
    if len(ins.heredocs) != 1 or command.exec_form:
        return None
    doc = ins.heredocs[0]
    bare = command.args[0].strip().replace("'", "").replace('"', "")
    if bare in (f"<<{doc.name}", f"<<-{doc.name}") and doc.content.startswith("#!"):
        return doc
    return None


def _script_mount(doc: ast.Heredoc, scratch: Path) -> runtime.Mount:
    """A read-only bind of the script's body, mode 0755, at ``/dev/pipes/NAME`` (in /dev's tmpfs: no trace)."""
    path = scratch / "script"
    path.write_text(doc.content, encoding="utf-8", errors="surrogateescape")
    path.chmod(0o755)
    return runtime.Mount(f"/dev/pipes/{doc.name}", source=str(path), options=("rbind", "ro"))


def run_argv(ins: ast.Run, result: StageResult) -> list[str]:
    """The process of a RUN step. Shell form with heredocs, as BuildKit v0.13 runs it: a line that is only
    the heredoc (``RUN <<EOF``) runs the body as the shell's script, or, when it starts with ``#!``, the
    file ``/dev/pipes/EOF`` holding it (`shebang_script`); otherwise (``RUN cat <<EOF > f``, ``RUN <<EOF
    sh``, several heredocs) the line, then each body as written and its delimiter, go to the shell as one
    script, so the shell itself feeds each body to its command (``<<-`` tab stripping and a quoted
    delimiter's literal body are the shell's)."""
    command = ins.command
    if ins.heredocs and not command.exec_form:
        line = command.args[0]
        doc = ins.heredocs[0]
        bare = line.strip().replace("'", "").replace('"', "")
        if len(ins.heredocs) == 1 and bare in (f"<<{doc.name}", f"<<-{doc.name}"):
            body = f"/dev/pipes/{doc.name}" if shebang_script(ins) else doc.content
            return [*result.state.shell, body]
        script = line + "".join(f"\n{h.raw}{h.name}" for h in ins.heredocs)
        return [*result.state.shell, script]
    return run_ins.argv(result.state, list(command.args), command.exec_form)
