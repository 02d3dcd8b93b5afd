"""The mechanism shared by the steps that make layers: cache lookup, staging, commit, history.

Each step: compute its readable cache parts; on a hit reuse the recorded layer; on a miss fill a staging
directory of the store (the overlay's upperdir), stream it into a layer blob and move it into the store as the
unpacked layer. A failed or interrupted step discards its staging directory; nothing half-made is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from builder import runtime
from builder.cache import BuildCache, key_of
from builder.commit import commit_upperdir
from builder.steps.copy import CopySteps
from builder.steps.run import prepare_run
from builder.steps.workdir import prepare_workdir
from builder.syntax import ast

if TYPE_CHECKING:
    from builder.executor import BuildOptions, StageResult, StepReport
    from builder.plan import Stage
    from builder.ui import Reporter


class StepRunner:
    """Performs the effects of layer steps for one build, sharing the store, cache and reporter."""

    def __init__(
        self, store, options: BuildOptions, reporter: Reporter, *, epoch: int | None, stages: tuple = ()
    ) -> None:
        self.store = store
        self.plan_stages = stages
        self.options = options
        self.reporter = reporter
        self.epoch = epoch
        self.cache = BuildCache(store, enabled=not options.no_cache)
        self.state_dir = store.state_dir("runtime")
        self.copies = CopySteps(self)

    def start(self) -> None:
        """Clean what a crashed earlier build left in the runtime's state directory."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        runtime.cleanup_stale(self.state_dir)

    # --- the shared mechanism ---------------------------------------------------------------------------
    def lowerdirs(self, result: StageResult) -> list[Path]:
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
            parts, fill, created_by = prepare_run(self, step, result, step_env)
        elif isinstance(ins, ast.Workdir):
            parts, fill, created_by = prepare_workdir(self, step, result)
        else:
            parts, fill, created_by = self.copies.prepare(stage, step, result, results)
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
        return key_of(parts)

    def finish(self) -> None:
        """Remove what the steps of this build kept for their duration (heredoc files)."""
        self.copies.finish()
