"""One layer instruction (RUN, COPY/ADD, WORKDIR) and the state of its stage → its op. Pure.

Everything a Buildfile can get wrong about such an instruction is refused here, before any step runs: a bad
``--mount``, ``--network``, ``--chmod``, a flag only ADD takes, ``--security=insecure`` not granted.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.errors import BuildError
from builder.instructions import run as run_ins
from builder.instructions.chmod import parse_chmod
from builder.instructions.proxy import proxy_env
from builder.instructions.state import ImageState
from builder.mounts import parse_step_mounts
from builder.ops import (
    ContextInput,
    CopyOp,
    DirectoryInput,
    ImageInput,
    MkdirOp,
    RunOp,
    ScratchInput,
    StageInput,
    TreeInput,
)
from builder.plan import Plan, Stage
from builder.syntax import ast

#: RUN flags with cache parts of their own.
_KEYED_APART = ("network", "mount")
#: Flags only ADD takes.
_ADD_ONLY = ("checksum", "keep-git-dir")


@dataclass(frozen=True)
class LowerContext:
    """The plan, the stage being lowered and the build's options (`builder.frontend.lower.LowerOptions`)."""

    plan: Plan
    stage: Stage
    options: object

    def tree(self, name: str) -> TreeInput:
        """What ``--from=name`` / ``from=name`` reads: a stage of this build (by name or index, the last one
        with that name), a ``--build-context`` directory or image, ``scratch``, else an image reference."""
        if name == "scratch":
            return ScratchInput()
        for planned in reversed(self.plan.stages):
            if (planned.name is not None and planned.name == name.lower()) or str(planned.index) == name:
                return StageInput(planned.index, name)
        options = self.options
        if name in options.named_directories:
            return DirectoryInput(name, options.named_directories[name])
        ref = options.named_images.get(name, name)
        return ImageInput(ref, str(self.stage.platform))


def _on(value) -> bool:
    """A boolean flag: bare (``--link``) or ``--link=true``; ``--link=false`` is off."""
    return value is True or str(value).lower() in ("true", "1")


def _flag_list(value) -> tuple[str, ...]:
    if value in (None, True, False):
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


# --- RUN ----------------------------------------------------------------------------------------------
def lower_run(
    context: LowerContext,
    step,
    state: ImageState,
    args: dict[str, str],
    declared: list[str],
    step_env: dict[str, str],
) -> RunOp:
    """The op of a RUN step. ``args`` are the build args the stage holds, ``declared`` every ARG name declared
    so far (the history lists them), ``step_env`` the environment the step's text expands in."""
    ins: ast.Run = step.instruction
    options = context.options
    spans = [f.span for f in ins.flags if f.name == "mount"]
    mounts = parse_step_mounts(list(step.flags.get("mount", [])), spans, state.workdir)
    network = str(step.flags.get("network", options.network))
    if network not in ("default", "host", "none"):
        raise BuildError(f"unsupported network mode {network!r}: use default, host or none")
    build_args = [(name, step_env.get(name, value)) for name, value in args.items()]
    image_env = state.env()
    return RunOp(
        platform=str(context.stage.platform),
        argv=tuple(run_argv(ins, state)),
        env=tuple(image_env.items()),
        # a shadowed ARG does not reach the process; keeping the two apart lets a miss say ARG or ENV
        args=tuple((k, v) for k, v in build_args if k not in image_env),
        user=state.user,
        cwd=state.workdir,
        network="none" if network == "none" else "host",
        flags=tuple((name, value) for name, value in sorted(step.flags.items()) if name not in _KEYED_APART),
        run_options=options.run_options,
        mounts=tuple(mounts),
        mount_trees=tuple(context.tree(m.spec.from_) if m.spec.from_ else None for m in mounts),
        script=shebang_script(ins),
        privileged=_privileged(step, ins, options.allow),
        proxy=tuple(proxy_env(options.build_args)),
        # BuildKit lists every declared ARG, one without a value as ``NAME=``, an ENV of that name winning
        history_args=tuple((name, step_env.get(name, args.get(name, ""))) for name in declared),
    )


def _privileged(step, ins: ast.Run, allow) -> bool:
    """Whether the step runs with ``--security=insecure``, which ``--allow security.insecure`` must grant."""
    if str(step.flags.get("security", "sandbox")) != "insecure":
        return False
    if "security.insecure" not in allow:
        span = next((f.span for f in ins.flags if f.name == "security"), None)
        hint = "pass --allow security.insecure to grant it"
        raise BuildError("RUN --security=insecure is not allowed for this build", span, hint=hint)
    return True


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


def run_argv(ins: ast.Run, state: ImageState) -> list[str]:
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
            return [*state.shell, body]
        script = line + "".join(f"\n{h.raw}{h.name}" for h in ins.heredocs)
        return [*state.shell, script]
    return run_ins.argv(state, list(command.args), command.exec_form)


# --- COPY / ADD ---------------------------------------------------------------------------------------
def lower_copy(context: LowerContext, step, state: ImageState) -> CopyOp:
    """The op of a COPY or ADD step."""
    ins: ast.CopyLike = step.instruction
    is_add = isinstance(ins, ast.Add)
    *sources, dest = step.args
    flags = step.flags
    for name in _ADD_ONLY:
        if name in flags and not is_add:
            raise BuildError(f"unknown flag: --{name} (only ADD takes it)")
    chown, chmod = flags.get("chown"), flags.get("chmod")
    if chmod:
        parse_chmod(str(chmod))  # refuses a bad mode here, not when the step runs
    checksum = flags.get("checksum")
    if checksum:
        _check_checksum_sources(sources)
    from_ref = flags.get("from")
    return CopyOp(
        keyword=ins.keyword,
        sources=tuple(sources),
        dest=dest,
        workdir=state.workdir,
        tree=context.tree(str(from_ref)) if from_ref else ContextInput(),
        from_ref=from_ref,
        chown=str(chown) if chown else None,
        chmod=str(chmod) if chmod else None,
        link=_on(flags.get("link")),
        parents=_on(flags.get("parents")),
        exclude=_flag_list(flags.get("exclude")),
        heredocs=tuple(step.heredocs),
        checksum=str(checksum) if checksum else None,
        keep_git_dir=_on(flags.get("keep-git-dir")),
    )


def _check_checksum_sources(sources: list[str]) -> None:
    """``ADD --checksum`` verifies one download: BuildKit refuses it with several sources or a local file, in
    v0.13's words; a git repository, whose checksum pybuild cannot verify, is refused the same way (v0.13
    goes on to fetch it)."""
    from builder.fsops.remote import is_git

    if len(sources) != 1:
        raise BuildError("checksum can't be specified for multiple sources")
    if not sources[0].startswith(("http://", "https://")) or is_git(sources[0]):
        raise BuildError("checksum can't be specified for non-HTTP sources")


# --- WORKDIR ------------------------------------------------------------------------------------------
def lower_workdir(state: ImageState, step) -> MkdirOp:
    """WORKDIR changes the config and creates its directory (owned by USER, as BuildKit does)."""
    from builder.instructions import workdir

    workdir.apply(state, step.args[0])
    return MkdirOp(state.workdir, state.user, recorded=state.config["WorkingDir"])
