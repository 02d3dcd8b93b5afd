"""The steps that make layers — RUN, COPY/ADD, WORKDIR — with the cache in front of each.

Each step: compute its readable cache parts; on a hit reuse the recorded layer; on a miss fill a staging
directory of the store (the overlay's upperdir), stream it into a layer blob and move it into the store as the
unpacked layer. A failed or interrupted step discards its staging directory; nothing half-made is kept.
"""

from __future__ import annotations

import os
import posixpath
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from builder import runtime
from builder.cache import BuildCache
from builder.commit import commit_upperdir
from builder.errors import BuildError
from builder.instructions import copy as copy_ins
from builder.instructions import run as run_ins
from builder.instructions import workdir as workdir_ins
from builder.sources import digest_sources
from builder.syntax import ast

if TYPE_CHECKING:
    from builder.executor import BuildOptions, StageResult, StepReport
    from builder.plan import Stage
    from builder.ui import Reporter

#: How many lines of a failed RUN's output the error shows.
OUTPUT_TAIL_LINES = 20


def file_owner(rootfs: Path, spec: str) -> copy_ins.Ownership:
    """The owner of files a COPY --chown or WORKDIR creates: Docker's rule, where a user given without a
    group also gives its numeric uid as the gid (unlike USER for processes, which takes the passwd group)."""
    if not spec:
        return copy_ins.Ownership(0, 0)
    user_part, _, group_part = spec.partition(":")
    uid = runtime.resolve_user(rootfs, user_part).uid
    gid = runtime.resolve_user(rootfs, f"{user_part}:{group_part}").gid if group_part else uid
    return copy_ins.Ownership(uid, gid)


class StepRunner:
    """Performs the effects of layer steps for one build, sharing the store, cache and reporter."""

    def __init__(
        self, store, options: BuildOptions, reporter: Reporter, *, epoch: int | None, stages: tuple = ()
    ) -> None:
        self.store = store
        self.plan_stages = stages
        self._heredoc_dirs: list[Path] = []
        self._ignore: Callable[[str], bool] | None = None
        self._ignore_loaded = False
        self.options = options
        self.reporter = reporter
        self.epoch = epoch
        self.cache = BuildCache(store, enabled=not options.no_cache)
        self.state_dir = store.state_dir("runtime")

    def start(self) -> None:
        """Clean what a crashed earlier build left in the runtime's state directory."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        runtime.cleanup_stale(self.state_dir)

    # --- the shared mechanism ---------------------------------------------------------------------------
    def _lowerdirs(self, result: StageResult) -> list[Path]:
        return [self.store.layer_path(diff_id) for diff_id in reversed(result.state.layers)]

    def _produce(
        self, stage: Stage, identity: str, parts: dict, result: StageResult, fill: Callable[[Path], None]
    ) -> tuple[dict, bool, str]:
        """Find or make the layer for ``parts``; returns (descriptor with diff_id, cached?, reason)."""
        filtered = self.options.no_cache_filter
        enabled = stage.name not in filtered and str(stage.index) not in filtered
        lookup = self.cache.lookup(identity, parts, enabled=enabled)
        if lookup.result is not None:
            self.reporter.cached()
            return lookup.result["result"], True, "cached"
        self.reporter.reason(lookup.reason)
        staging = self.store.staging_dir()
        try:
            fill(staging)
            layer = commit_upperdir(
                self.store, staging, compression=self.options.compression, clamp_mtime=self.epoch
            )
        except BaseException:
            if staging.exists():
                self.store.discard_staging(staging)
            raise
        self.cache.record(identity, parts, lookup.key, layer)
        return layer, False, lookup.reason

    def layer_step(
        self, stage: Stage, step, result: StageResult, step_env: dict[str, str], results: dict, created: str
    ) -> StepReport:
        from builder.executor import StepReport

        ins = step.instruction
        started = time.monotonic()
        identity = f"{self.options.context.resolve()}|{ins.span.file}|{stage.index}|{ins.span.line}"
        if isinstance(ins, ast.Run):
            parts, fill, created_by = self._run(stage, step, result, step_env)
        elif isinstance(ins, ast.Workdir):
            parts, fill, created_by = self._workdir(step, result)
        else:
            parts, fill, created_by = self._copy(stage, step, result, results)
        parts = {"keyword": ins.keyword, "parent": result.chain_key, "platform": str(stage.platform), **parts}
        layer, cached, reason = self._produce(stage, identity, parts, result, fill)
        result.chain_key = self.cache_key(parts)
        result.state.add_layer(layer["diff_id"])
        result.layers.append(layer)
        result.state.add_history(created_by, created=created, empty_layer=False)
        if not cached:
            self.reporter.done()
        return StepReport(
            stage.label, ins.span.line, ins.original.strip(), cached, reason, time.monotonic() - started, layer
        )

    @staticmethod
    def cache_key(parts: dict) -> str:
        from builder.cache import key_of

        return key_of(parts)

    # --- RUN --------------------------------------------------------------------------------------------
    def _run(self, stage: Stage, step, result: StageResult, step_env: dict[str, str]):
        ins: ast.Run = step.instruction
        if "mount" in step.flags:
            raise BuildError("RUN --mount is not supported yet")
        state = result.state
        argv = self._run_argv(ins, result)
        build_args = [(name, step_env.get(name, value)) for name, value in result.args.items()]
        env = run_ins.step_env(state, build_args)
        network = str(step.flags.get("network", self.options.network))
        if network not in ("default", "host", "none"):
            raise BuildError(f"unsupported network mode {network!r}: use default, host or none")
        spec = runtime.ProcessSpec(
            args=argv,
            env=env,
            cwd=state.workdir,
            user=state.user,
            network="none" if network == "none" else "host",
        )
        parts = {"argv": argv, "env": [list(e.split("=", 1)) for e in env], "user": spec.user, "cwd": spec.cwd}
        parts["network"] = spec.network
        lowers = self._lowerdirs(result)

        def fill(upper: Path) -> None:
            tail: list[bytes] = []

            def output(chunk: bytes) -> None:
                self.reporter.output(chunk)
                tail.append(chunk)
                if len(tail) > 200:
                    del tail[:100]

            code = runtime.run_step(lowers, upper, spec, state_dir=self.state_dir, output=output)
            if code != 0:
                text = b"".join(tail).decode("utf-8", "replace").splitlines()[-OUTPUT_TAIL_LINES:]
                raise BuildError(f"RUN exited with code {code}", output_tail="\n".join(text) or None)

        return parts, fill, run_ins.history_text(argv, [(k, v) for k, v in build_args])

    @staticmethod
    def _run_argv(ins: ast.Run, result: StageResult) -> list[str]:
        command = ins.command
        if ins.heredocs and not command.exec_form:
            line = command.args[0].strip()
            doc = ins.heredocs[0]
            if line.replace("'", "").replace('"', "") in (f"<<{doc.name}", f"<<-{doc.name}"):
                return [*result.state.shell, doc.content]
            raise BuildError("RUN with a heredoc as a command's input is not supported yet")
        return run_ins.argv(result.state, list(command.args), command.exec_form)

    # --- WORKDIR ----------------------------------------------------------------------------------------
    def _workdir(self, step, result: StageResult):
        state = result.state
        created_by = workdir_ins.apply(state, step.args[0])
        path, who = state.workdir, state.user
        lowers = self._lowerdirs(result)

        def fill(upper: Path) -> None:
            with runtime.overlay(lowers, upper, state_dir=self.state_dir) as merged:
                copy_ins.make_dirs(merged, path, file_owner(merged, who))

        return {"path": path, "user": who}, fill, created_by

    # --- COPY / ADD ------------------------------------------------------------------------------------
    def _copy(self, stage: Stage, step, result: StageResult, results: dict):
        ins: ast.CopyLike = step.instruction
        *sources, dest = step.args
        for unsupported in ("link", "parents", "exclude", "checksum", "keep-git-dir", "unpack"):
            if unsupported in step.flags:
                raise BuildError(f"{ins.keyword} --{unsupported} is not supported yet")
        if isinstance(ins, ast.Add) and any("://" in s or s.endswith(".git") for s in sources):
            raise BuildError("ADD of a URL or git repository is not supported yet")
        chown = step.flags.get("chown")
        chmod = step.flags.get("chmod")
        mode = None
        if chmod:
            try:
                mode = int(str(chmod), 8)
            except ValueError:
                raise BuildError(f"invalid --chmod {chmod!r}: only octal modes are supported yet") from None
        from_ref = step.flags.get("from")
        heredocs = {f"<<{h.name}": h for h in step.heredocs} | {f"<<-{h.name}": h for h in step.heredocs}
        lowers = self._lowerdirs(result)
        workdir = result.state.workdir
        force_dir = len(sources) > 1 or any(copy_ins.has_wildcard(s) for s in sources)

        with self._source_root(from_ref, results, stage) as (root, excluded):
            selected: list[tuple[str, Path]] = []
            for source in sources:
                bare = source.replace('"', "").replace("'", "")
                if bare in heredocs:
                    selected.append((heredocs[bare].name, self._heredoc_file(heredocs[bare])))
                else:
                    selected.extend(copy_ins.select_sources(root, source, excluded=excluded))
            files = digest_sources(selected, excluded=excluded)
        parts = {"sources": sources, "dest": dest, "workdir": workdir, "chown": chown, "chmod": chmod}
        parts["files"] = files
        parts["from"] = from_ref

        def fill(upper: Path) -> None:
            with (
                self._source_root(from_ref, results, stage) as (root, excluded),
                runtime.overlay(lowers, upper, state_dir=self.state_dir) as merged,
            ):
                owner = file_owner(merged, str(chown or ""))
                again: list[tuple[str, Path]] = []
                for source in sources:
                    bare = source.replace('"', "").replace("'", "")
                    if bare in heredocs:
                        again.append((heredocs[bare].name, self._heredoc_file(heredocs[bare])))
                    else:
                        again.extend(copy_ins.select_sources(root, source, excluded=excluded))
                copy_ins.copy_into(
                    merged,
                    again,
                    dest,
                    workdir=workdir,
                    owner=copy_ins.Ownership(owner.uid, owner.gid, mode),
                    force_dir=force_dir,
                    excluded=excluded,
                )

        return parts, fill, copy_ins.history_text(ins.keyword, sources, dest)

    def _heredoc_file(self, doc: ast.Heredoc) -> Path:
        directory = self.store.staging_dir()  # swept by the store if this process dies
        path = directory / posixpath.basename(doc.name)
        path.write_text(doc.content, encoding="utf-8", errors="surrogateescape")
        os.chmod(path, 0o644)
        self._heredoc_dirs.append(directory)
        return path

    @contextmanager
    def _source_root(self, from_ref, results: dict, stage: Stage) -> Iterator[tuple[Path, Callable | None]]:
        """The directory sources are read from, and the ignore rule (context only)."""
        if not from_ref:
            yield self.options.context, self._ignore_rules()
            return
        source = self._from_stage(str(from_ref), results)
        if source is None:
            source = self._from_image(str(from_ref), stage)
        scratch = self.store.staging_dir()
        try:
            with runtime.overlay(source, scratch, state_dir=self.state_dir) as merged:
                yield merged, None
        finally:
            self.store.discard_staging(scratch)

    def _from_stage(self, name: str, results: dict) -> list[Path] | None:
        for stage in self.plan_stages:
            if stage.name == name.lower() or str(stage.index) == name:
                built = results[stage.index]
                return self._lowerdirs(built)
        return None

    def _from_image(self, name: str, stage: Stage) -> list[Path]:
        from builder.oci.config import Platform as OciPlatform
        from builder.oci.image import load_image

        platform = stage.platform
        image = load_image(self.store, name, platform=OciPlatform(platform.os, platform.architecture, None))
        return [self.store.layer_path(d) for d in reversed(image.diff_ids)]

    def _ignore_rules(self) -> Callable[[str], bool] | None:
        if not self._ignore_loaded:
            from builder.context import IgnoreRules, find_ignore_file

            self._ignore_loaded = True
            path = find_ignore_file(self.options.context, self.options.buildfile)
            if path is not None:
                self._ignore = IgnoreRules.from_file(path).excludes
        return self._ignore

    def finish(self) -> None:
        for directory in self._heredoc_dirs:
            self.store.discard_staging(directory)
