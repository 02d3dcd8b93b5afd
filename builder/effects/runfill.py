"""RUN on this machine: what its mounts read (for the key), and its process in a runc container. Each function
takes ``host``, the `builder.effects.host.HostEffects` of the build."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from builder import runtime
from builder.effects import Cancel, MountContents, Tree
from builder.errors import BuildError
from builder.mounts import MountInputs, mounted
from builder.mounts.selections import Selections
from builder.ops import RunOp, TreeInput

#: How many lines of a failed RUN's output the error shows.
OUTPUT_TAIL_LINES = 20


def _inputs(host, op: RunOp, trees: Mapping[TreeInput, Tree], cancel: Cancel | None = None) -> MountInputs:
    """What the step's mounts take from the build: the trees ``from=`` names (made ready by the solver),
    the context, secrets and agents; reading them stops once ``cancel`` is set."""
    stopped = cancel.is_set if cancel is not None else None
    by_name = {m.spec.from_: trees[t] for m, t in zip(op.mounts, op.mount_trees, strict=True) if t is not None}

    def layers_of(name: str) -> tuple[list[Path], str]:
        tree = by_name[name]
        if tree.directory is not None:  # a --build-context directory, named by its content
            from builder.sources import tree_digest

            return [tree.directory], tree_digest(tree.directory, stopped=stopped)
        return tree.layers, tree.chain  # lazy: a key taken from known selections fetches nothing

    options = host.options
    return MountInputs(
        store=host.store,
        state_dir=host.state_dir,
        context=Path(options.context),
        layers_of=layers_of,
        context_included=host.context_rule,
        secrets={source.id: source for source in options.secrets},
        ssh={source.id: source for source in options.ssh},
        selections=Selections(host.store.state_dir("selections"), host.shared.selections),
        stat_cache=host.stat_cache,
        stopped=stopped,
    )


def mount_contents(host, op: RunOp, trees: Mapping[TreeInput, Tree], cancel: Cancel) -> MountContents:
    """The content digests the step's key holds of its mounts (`builder.ops.RunOp.key_parts`); raises
    `builder.sources.DigestStopped` once ``cancel`` is set."""
    if not op.mounts:
        return MountContents((), {})
    from builder.mounts.step import mount_contents as contents_of

    inputs = _inputs(host, op, trees, cancel)
    contents = contents_of(list(op.mounts), inputs)
    return MountContents(tuple(contents), dict(inputs.used))


def fill_run(
    host,
    op: RunOp,
    lowers: Sequence[Path],
    upper: Path,
    trees: Mapping[TreeInput, Tree],
    output: Callable[[bytes], None],
    cancel: Cancel,
) -> None:
    """Run the step's process with its mounts; its changes land in ``upper``. A non-zero exit raises a
    `BuildError` with the code and the last lines of output."""
    tail: list[bytes] = []

    def keep(chunk: bytes) -> None:
        output(chunk)
        tail.append(chunk)
        if len(tail) > 200:
            del tail[:100]

    spec = runtime.ProcessSpec(
        args=list(op.argv),
        env=op.process_env(),
        cwd=op.cwd,
        user=op.user,
        network=op.network,
        privileged=op.privileged,
        extra_hosts=list(op.run_options.extra_hosts),
        ulimits=[(u.name, u.soft, u.hard) for u in op.run_options.ulimits],
        shm_size=op.run_options.shm_size,
    )
    inputs = _inputs(host, op, trees)
    names = {entry.split("=", 1)[0] for entry in spec.env}
    with mounted(list(op.mounts), inputs, env_names=names) as made:
        # a secret exposed as a variable replaces a variable of that name, as in BuildKit
        replaced = {entry.split("=", 1)[0] for entry in made.env}
        env = [e for e in spec.env if e.split("=", 1)[0] not in replaced] + made.env
        state_dir = made.state_dir or host.state_dir
        with tempfile.TemporaryDirectory(dir=state_dir) as scratch:
            extra = list(made.mounts)
            if op.script is not None:
                extra.append(_script_mount(op.script, Path(scratch)))
            from dataclasses import replace

            process = replace(spec, env=env, extra_mounts=extra)
            code = runtime.run_step(
                lowers, upper, process, state_dir=state_dir, output=keep, stop=cancel.on_cancel
            )
    if code != 0:
        text = b"".join(tail).decode("utf-8", "replace").splitlines()[-OUTPUT_TAIL_LINES:]
        raise BuildError(f"RUN exited with code {code}", output_tail="\n".join(text) or None)


def _script_mount(doc, scratch: Path) -> runtime.Mount:
    """A read-only bind of the script's body, mode 0755, at ``/dev/pipes/NAME`` (in /dev's tmpfs: no trace)."""
    path = scratch / "script"
    path.write_text(doc.content, encoding="utf-8", errors="surrogateescape")
    path.chmod(0o755)
    return runtime.Mount(f"/dev/pipes/{doc.name}", source=str(path), options=("rbind", "ro"))
