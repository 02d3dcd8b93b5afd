"""The mechanism shared by the steps that make layers: cache lookup, staging, commit, history.

Each step: compute its readable cache parts; on a hit reuse the recorded layer; on a miss fill a staging
directory of the store (the overlay's upperdir), stream it into a layer blob and move it into the store as the
unpacked layer. A failed or interrupted step discards its staging directory; nothing half-made is kept.

A step's parent part is the ChainID of the layers below it (see `builder.cache`), so a step that ran again
but made the same layer keeps the steps after it cached. The runner remembers which chains this build made
by running a step, to say "parent step ran" rather than "base image changed" when a parent differs.

With ``--cache-from`` a local miss asks the imported indexes (`builder.sharedcache.session.SharedCache`). A
remote hit leaves its layer remote: only the ChainID is needed for the next lookup. The layer is fetched
when something reads it — a step running on top (`lowerdirs`), a ``COPY --from`` of its stage, or the final
image (`fetch_layers`) — so layers of steps that end up unused are never downloaded.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from builder import runtime
from builder.cache import PARENT_BASE, PARENT_CACHED, PARENT_RAN, BuildCache, chain_id, key_of, keyed
from builder.commit import commit_upperdir
from builder.errors import BuildError
from builder.oci.config import format_time
from builder.sharedcache.errors import RemoteLayerFailed
from builder.sharedcache.session import SharedCache
from builder.sources import StatCache, using_stat_cache
from builder.steps.copy import CopySteps
from builder.steps.run import prepare_run
from builder.steps.workdir import prepare_workdir
from builder.syntax import ast

if TYPE_CHECKING:
    from builder.buildtypes import BuildOptions, StageResult, StepReport
    from builder.plan import Stage
    from builder.ui import Reporter

#: ``$NAME`` and ``${NAME...}`` in an instruction's text: the variables whose values explain a miss.
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


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
        self.shared = SharedCache(
            store,
            options.cache_from,
            options.cache_to,
            progress=reporter.mode,
            warn=reporter.info,
            registry=options.registry,
        )
        self.cache = BuildCache(
            store, enabled=not options.no_cache, remote=self.shared if options.cache_from else None
        )
        self.state_dir = store.state_dir("runtime")
        self.copies = CopySteps(self)
        #: Content digests of context files, kept between builds (``state/context`` of the store).
        self.stat_cache = StatCache(store.state_dir("context"), options.context)
        self._origins: dict[str, str] = {}  # chain id → PARENT_RAN / PARENT_CACHED, for this build
        self._identities: Counter[str] = Counter()
        self._scope = ExitStack()

    def start(self) -> None:
        """Clean what a crashed earlier build left in the runtime's state directory, and make the context's
        stat cache the one source digests use until `finish`."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        runtime.cleanup_stale(self.state_dir)
        self._scope.enter_context(using_stat_cache(self.stat_cache))
        self._scope.callback(self.shared.close)
        if not self.options.no_cache:
            self.shared.open()

    # --- the shared mechanism ---------------------------------------------------------------------------
    def lowerdirs(self, result: StageResult) -> Sequence[Path]:
        """The stage's layer directories, top first; layers still remote are fetched on first access."""
        return self.shared.lowerdirs(result.state.layers)

    def fetch_layers(self, diff_ids: list[str]) -> None:
        """Fetch the layers among ``diff_ids`` that remote cache hits left remote (the final image's)."""
        self.shared.ensure(diff_ids)

    def restart(self, failure: RemoteLayerFailed) -> None:
        """Forget the remote records of a layer that could not be fetched, before the stages are built again."""
        if not self.shared.forget(failure.diff_id, str(failure)):
            raise BuildError(str(failure))
        self.reporter.info(f"warning: {failure}; building without that cache record")
        self._identities.clear()
        self._origins.clear()
        self.shared.restart()

    def export_cache(self, finals: Sequence[Sequence[str]]) -> None:
        """Export this build's cache records to the ``--cache-to`` targets (see `SharedCache.export`);
        ``finals`` are the diff_ids of each final image (one per platform), whose steps ``mode=min`` keeps."""
        if self.shared.targets:
            chains = {chain_id(list(layers[:n])) for layers in finals for n in range(1, len(layers) + 1)}
            self.shared.export(chains)

    def is_stage(self, name: str) -> bool:
        """Whether ``name`` (``--from``/``from=``) names a stage of this build, by name or index."""
        return any(
            (planned.name is not None and planned.name == name.lower()) or str(planned.index) == name
            for planned in self.plan_stages
        )

    def layers_of(self, name: str, stage: Stage | None, results: dict) -> tuple[Sequence[Path], str]:
        """What ``COPY --from=name`` and ``RUN --mount from=name`` read: the layer directories (top first) and
        the ChainID of a stage of this build (by name or index) built so far, else of an image, pulled as FROM
        pulls it (``--pull`` policy, ``stage``'s platform) when the store lacks it. ``scratch``: no layers."""
        if name == "scratch":
            return [], "empty"
        for planned in reversed(self.plan_stages):  # a name used twice means its last stage, as in the plan
            named = planned.name is not None and planned.name == name.lower()
            if (named or str(planned.index) == name) and planned.index in results:
                built = results[planned.index]
                # lazy: a step that hits by the ChainID alone never fetches a stage's remote layers
                return self.lowerdirs(built), chain_id(list(built.state.layers))
        from builder.namedcontexts import pull_policy
        from builder.registry.progress import Transfers
        from builder.registry.pull import ensure_image

        named = self.options.named_contexts.get(name)
        if named is not None and named.directory is not None:
            return [named.directory], _directory_identity(named.directory)
        if named is not None:
            name = named.image
        image = ensure_image(
            self.store,
            name,
            pull=pull_policy(name, self.options.pull),
            platform=stage.platform if stage is not None else None,
            progress=Transfers(self.reporter.mode),
            registry=self.options.registry,
        )
        return [self.store.layer_path(d) for d in reversed(image.diff_ids)], chain_id(list(image.diff_ids))

    def _produce(
        self, stage: Stage, identity: str, parts: dict, about: dict, fill: Callable[[Path], None]
    ) -> tuple[dict, bool, str]:
        """Find or make the layer for ``parts``; returns (descriptor with diff_id, cached?, reason)."""
        filtered = self.options.no_cache_filter
        enabled = stage.name not in filtered and str(stage.index) not in filtered
        lookup = self.cache.lookup(
            identity,
            parts,
            enabled=enabled,
            disabled_reason=f"--no-cache-filter {stage.name or stage.index}",
            about=about,
            parent=self._origins.get(parts["parent"], PARENT_BASE),
        )
        if lookup.result is not None:
            self.reporter.cached()
            return lookup.result["result"], True, "cached"
        self.reporter.reason(lookup.reason)
        staging = self.store.staging_dir()
        try:
            fill(staging)
            with self.reporter.progress("committing layer") as advance:
                layer = commit_upperdir(
                    self.store,
                    staging,
                    compression=self.options.compression,
                    clamp_mtime=self.epoch,
                    advance=advance,
                )
        except BaseException:
            if staging.exists():
                self.store.discard_staging(staging)
            raise
        # when the layer was made: a cached step keeps it, so a fully cached rebuild is the same image
        layer["created"] = format_time(self.epoch if self.epoch is not None else time.time())
        self.cache.record(identity, parts, lookup.key, layer, about=about)
        return layer, False, lookup.reason

    def layer_step(
        self, stage: Stage, step, result: StageResult, step_env: dict[str, str], results: dict, created: str
    ) -> StepReport:
        from builder.buildtypes import StepReport

        ins = step.instruction
        started = time.monotonic()
        # A step is named across builds by its stage and its position among the stage's layer steps, so that
        # inserting a comment or a config-only line does not make the next explanation say "first build".
        stage_id = f"{self.options.context.resolve()}|{ins.span.file}|{stage.name or stage.index}"
        self._identities[stage_id] += 1
        identity = f"{stage_id}|{self._identities[stage_id]}"
        if isinstance(ins, ast.Run):
            parts, fill, created_by = prepare_run(self, step, result, step_env, stage=stage, results=results)
        elif isinstance(ins, ast.Workdir):
            parts, fill, created_by = prepare_workdir(self, step, result)
        else:
            parts, fill, created_by = self.copies.prepare(stage, step, result, results)
        # Parts every layer step has: what it is, what it runs on, and the SOURCE_DATE_EPOCH its layer's
        # mtimes and history time are clamped to (a result made under another epoch is another result).
        # A step's own parts come last: one whose layer does not depend on its parent (COPY --link) says so
        # by a ``parent`` of its own. Only a step whose result depends on the platform (RUN) keys on it.
        common = {"keyword": ins.keyword, "parent": chain_id(list(result.state.layers)), "epoch": self.epoch}
        parts = {**common, **parts}
        about = {"vars": self._referenced(ins.original, step_env, result)}
        layer, cached, reason = self._produce(stage, identity, parts, about, fill)
        result.state.add_layer(layer["diff_id"])
        result.chain_key = chain_id(list(result.state.layers))
        self.shared.add_step(key_of(parts), keyed(parts), layer, result.chain_key)
        if not cached or result.chain_key not in self._origins:
            self._origins[result.chain_key] = PARENT_CACHED if cached else PARENT_RAN
        result.layers.append(layer)
        result.state.add_history(created_by, created=layer.get("created", created), empty_layer=False)
        if not cached:
            self.reporter.done()
        return StepReport(
            stage.label, ins.span.line, ins.original.strip(), cached, reason, time.monotonic() - started, layer
        )

    @staticmethod
    def _referenced(text: str, step_env: dict[str, str], result: StageResult) -> dict[str, list]:
        """``{name: [ARG|ENV, value]}`` for each variable the instruction's text refers to."""
        image_env = result.state.env()
        found: dict[str, list] = {}
        for name in _VARIABLE.findall(text):
            value = step_env.get(name)
            kind = "ENV" if name in image_env and image_env[name] == value else "ARG"
            found[name] = [kind, value]
        return found

    def finish(self) -> None:
        """Remove what the steps of this build kept for their duration (heredoc files); save the stat cache."""
        try:
            self.copies.finish()
        finally:
            self._scope.close()


def _directory_identity(directory: Path) -> str:
    """A ``--build-context`` directory named by its content (paths, types, modes, owners, file contents), so
    a step reading from it is cached until it changes."""
    from builder.sources import tree_digest

    return tree_digest(directory)
