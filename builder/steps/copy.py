"""COPY and ADD: reading sources from the context, a stage or an image, and their cache parts."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from builder import runtime
from builder.errors import BuildError
from builder.instructions import copy as copy_ins
from builder.sources import digest_sources
from builder.steps.owners import file_owner
from builder.syntax import ast

if TYPE_CHECKING:
    from builder.executor import StageResult
    from builder.plan import Stage
    from builder.steps.runner import StepRunner


class CopySteps:
    """COPY and ADD for one build: where sources are read from, the ignore rules, heredoc files."""

    def __init__(self, runner: StepRunner) -> None:
        self.runner = runner
        self._heredoc_dirs: list[Path] = []
        self._ignore: Callable[[str], bool] | None = None
        self._ignore_loaded = False

    def prepare(self, stage: Stage, step, result: StageResult, results: dict):
        """Cache parts, the layer-filling function and the history text of a COPY or ADD step."""
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
        lowers = self.runner.lowerdirs(result)
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
                runtime.overlay(lowers, upper, state_dir=self.runner.state_dir) as merged,
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
        directory = self.runner.store.staging_dir()  # swept by the store if this process dies
        path = directory / posixpath.basename(doc.name)
        path.write_text(doc.content, encoding="utf-8", errors="surrogateescape")
        os.chmod(path, 0o644)
        self._heredoc_dirs.append(directory)
        return path

    @contextmanager
    def _source_root(self, from_ref, results: dict, stage: Stage) -> Iterator[tuple[Path, Callable | None]]:
        """The directory sources are read from, and the ignore rule (context only)."""
        if not from_ref:
            yield self.runner.options.context, self._ignore_rules()
            return
        source = self._from_stage(str(from_ref), results)
        if source is None:
            source = self._from_image(str(from_ref), stage)
        scratch = self.runner.store.staging_dir()
        try:
            with runtime.overlay(source, scratch, state_dir=self.runner.state_dir) as merged:
                yield merged, None
        finally:
            self.runner.store.discard_staging(scratch)

    def _from_stage(self, name: str, results: dict) -> list[Path] | None:
        for stage in self.runner.plan_stages:
            if stage.name == name.lower() or str(stage.index) == name:
                built = results[stage.index]
                return self.runner.lowerdirs(built)
        return None

    def _from_image(self, name: str, stage: Stage) -> list[Path]:
        from builder.oci.config import Platform as OciPlatform
        from builder.oci.image import load_image

        platform = stage.platform
        image = load_image(
            self.runner.store, name, platform=OciPlatform(platform.os, platform.architecture, None)
        )
        return [self.runner.store.layer_path(d) for d in reversed(image.diff_ids)]

    def _ignore_rules(self) -> Callable[[str], bool] | None:
        if not self._ignore_loaded:
            from builder.context import IgnoreRules, find_ignore_file

            self._ignore_loaded = True
            path = find_ignore_file(self.runner.options.context, self.runner.options.buildfile)
            if path is not None:
                self._ignore = IgnoreRules.from_file(path).excludes
        return self._ignore

    def finish(self) -> None:
        for directory in self._heredoc_dirs:
            self.runner.store.discard_staging(directory)
