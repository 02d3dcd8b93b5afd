"""`HostEffects`: the effects on this machine — runc and overlayfs (`builder.runtime`), the filesystem
engines (`builder.fsops`), the store, the registry, and the shared cache's lazily fetched layers.

One instance serves one build; its methods are called from several worker threads at once. What it keeps
for the build's duration (the context's ignore rules, ADD downloads, heredoc files) is guarded by a lock and
removed by `finish`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from builder import runtime
from builder.effects import Cancel, CopyInputs, MountContents, Tree
from builder.errors import BuildError
from builder.ops import BaseImage, CopyOp, ImageInput, MkdirOp, RunOp, TreeInput
from builder.sources import StatCache


class HostEffects:
    """Effects over ``store`` for a build of ``options`` (`builder.buildtypes.BuildOptions`); ``shared`` is
    the build's `builder.sharedcache.session.SharedCache` (layers of remote cache hits are fetched through
    it), ``epoch`` the build's SOURCE_DATE_EPOCH, ``transfers()`` the display a pull draws its progress on."""

    def __init__(self, store, options, shared, *, epoch: int | None, transfers=None) -> None:
        self.store = store
        self.epoch = epoch  # SOURCE_DATE_EPOCH: a layer written while copying clamps its times to it
        self.options = options
        self.shared = shared
        #: makes the transfer display of a pull (`builder.ui.Reporter.transfers`; default: none shown)
        self.transfers = transfers or _quiet_transfers
        self.state_dir = store.state_dir("runtime")
        #: Content digests of context files, kept between builds (``state/context`` of the store).
        self.stat_cache = StatCache(store.state_dir("context"), options.context)
        self._lock = threading.Lock()
        self._kept: list[Path] = []
        self._context_rule: Callable[[str], bool] | None = None
        #: ADD's downloads as (url, content digest, kind): the materials provenance lists
        self.downloads: list[tuple[str, str, str]] = []
        self._context_walked = False

    # --- lifetime -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Clean what a crashed earlier build left in the runtime's state directory."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        runtime.cleanup_stale(self.state_dir)

    def finish(self) -> None:
        """Remove what steps kept for the build (downloads, heredoc files); save the stat cache."""
        try:
            with self._lock:
                kept, self._kept = self._kept, []
            for directory in kept:
                self.store.discard_staging(directory)
        finally:
            self.stat_cache.save()

    def keep(self) -> Path:
        """A staging directory that lives until `finish`."""
        directory = self.store.staging_dir()  # swept by the store if this process dies
        with self._lock:
            self._kept.append(directory)
        return directory

    def note_download(self, url: str, digest: str, kind: str) -> None:
        with self._lock:
            if (url, digest, kind) not in self.downloads:
                self.downloads.append((url, digest, kind))

    def staging(self) -> Path:
        return self.store.staging_dir()

    def discard(self, path: Path) -> None:
        if path.exists():
            self.store.discard_staging(path)

    # --- images and layers ----------------------------------------------------------------------------
    def base_image(self, ref: str, platform) -> BaseImage:
        from builder.namedcontexts import directory_image, pull_policy
        from builder.registry.pull import ensure_image

        named = self.options.named_contexts.get(ref)
        if named is not None and named.directory is not None:
            image = directory_image(self.store, named, platform)
        else:
            image = ensure_image(
                self.store,
                ref,
                pull=pull_policy(ref, self.options.pull),
                platform=platform,
                progress=self.transfers(),
                registry=self.options.registry,
            )
        for diff_id in image.diff_ids:
            if not self.store.has_layer(diff_id):
                raise BuildError(f"layer {diff_id} of {ref} is not unpacked in the store")
        return BaseImage(ref, image.manifest_digest, image.config, tuple(image.diff_ids), tuple(image.layers))

    def image_tree(self, image: TreeInput) -> Tree:
        from builder.cache import chain_id
        from builder.namedcontexts import pull_policy
        from builder.platforms import Platform
        from builder.registry.pull import ensure_image

        assert isinstance(image, ImageInput)
        platform = Platform.parse(image.platform) if image.platform else None
        pulled = ensure_image(
            self.store,
            image.ref,
            pull=pull_policy(image.ref, self.options.pull),
            platform=platform,
            progress=self.transfers(),
            registry=self.options.registry,
        )
        layers = [self.store.layer_path(d) for d in reversed(pulled.diff_ids)]
        return Tree(image.ref, layers, chain_id(list(pulled.diff_ids)))

    def layer_dirs(self, diff_ids: Sequence[str]) -> Sequence[Path]:
        return self.shared.lowerdirs(list(diff_ids))

    def fetch_layers(self, diff_ids: Sequence[str]) -> None:
        self.shared.ensure(list(diff_ids))

    # --- the context --------------------------------------------------------------------------------------
    def context_rule(self) -> Callable[[str], bool] | None:
        """What the context holds as BuildKit receives it: every path the walk through the ignore file
        yields (None: everything, when there is no ignore file). Walked once per build."""
        with self._lock:
            if not self._context_walked:
                self._context_rule = self._walk_context()
                self._context_walked = True
            return self._context_rule

    def _walk_context(self) -> Callable[[str], bool] | None:
        from builder.context import IgnoreRules, find_ignore_file, walk_context

        options = self.options
        buildfile = options.buildfile
        if buildfile is None:
            from builder.userpaths import default_buildfile

            buildfile = default_buildfile(options.context)
        path = find_ignore_file(options.context, buildfile if options.buildfile_text is None else None)
        if path is not None:
            rules = IgnoreRules.from_file(path)
            if rules:
                kept = {rel for rel, _ in walk_context(options.context, rules)}
                return kept.__contains__
        return None

    # --- steps ------------------------------------------------------------------------------------------
    def copy_inputs(self, op: CopyOp, trees: Mapping[TreeInput, Tree], cancel: Cancel) -> CopyInputs:
        from builder.effects.copyfill import copy_inputs

        return copy_inputs(self, op, trees, cancel)

    def fill_copy(self, op: CopyOp, inputs: CopyInputs, lowers, upper: Path, trees, *, reuse: bool):
        from builder.effects.copyfill import fill_copy

        return fill_copy(self, op, inputs, lowers, upper, trees, reuse=reuse)

    def mount_contents(self, op: RunOp, trees: Mapping[TreeInput, Tree], cancel: Cancel) -> MountContents:
        from builder.effects.runfill import mount_contents

        return mount_contents(self, op, trees, cancel)

    def fill_run(self, op: RunOp, lowers, upper: Path, trees, output, cancel: Cancel) -> None:
        from builder.effects.runfill import fill_run

        fill_run(self, op, lowers, upper, trees, output, cancel)

    def fill_mkdir(self, op: MkdirOp, lowers: Sequence[Path], upper: Path) -> None:
        from builder.fsops import copy as copy_ins
        from builder.runtime.users import chown_ids

        with runtime.overlay(lowers, upper, state_dir=self.state_dir) as merged:
            # BuildKit creates it owned by USER, resolved as --chown resolves names
            owner = copy_ins.Ownership(*chown_ids(merged, op.user)) if op.user else copy_ins.Ownership()
            try:
                copy_ins.make_dirs(merged, op.path, owner)
            except BuildError as error:  # say what failed in WORKDIR's words, not COPY's
                raise BuildError(f"WORKDIR {op.path}: {error.message.split(': ', 1)[-1]}") from None


def _quiet_transfers():
    from builder.registry.progress import Transfers

    return Transfers("quiet")
