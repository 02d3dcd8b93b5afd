"""`SharedCache`: what one build holds of the shared cache.

Contract with the step runner:

* `lookup(key)` is asked after a local miss; a hit returns the remote record and makes its layer *pending*:
  the record promises the layer, nothing is downloaded yet;
* `lowerdirs(diff_ids)` gives a step the directories of the layers under it; when some are pending the
  sequence fetches them on first access (a step that hits never reads it, so its parents stay remote);
* `ensure(diff_ids)` fetches and unpacks the pending ones among ``diff_ids`` in parallel, records them in the
  local cache index (so the next build hits locally) and raises `RemoteLayerFailed` for one that cannot be
  fetched or unpacks to another diff_id — the executor then calls `forget` and builds again;
* `add_step` notes each layer step of the build (key, parts, result, chain after it) for `export` and for
  the inline cache (`builder.sharedcache.inline.set_inline_cache`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import BuildError
from builder.registry.options import DEFAULT_REGISTRY, RegistryOptions
from builder.sharedcache.errors import RemoteLayerFailed
from builder.sharedcache.remote import RemoteCache, open_remote
from builder.sharedcache.spec import CacheSpec

_WORKERS = 4


@dataclass
class StepRecord:
    """A layer step of this build: its key, parts, layer descriptor and the ChainID of the layers after it."""

    key: str
    parts: dict
    result: dict
    chain: str


@dataclass
class _Pending:
    remote: RemoteCache
    result: dict
    records: dict[str, dict] = field(default_factory=dict)  # key → parts, recorded locally once fetched


class SharedCache:
    """The imported indexes (``sources``, tried in order), pending layers and this build's steps."""

    def __init__(
        self,
        store,
        sources: Sequence[CacheSpec],
        targets: Sequence[CacheSpec],
        *,
        progress: str,
        warn,
        registry: RegistryOptions = DEFAULT_REGISTRY,
        compression: str = "gzip",
    ) -> None:
        self.store = store
        self.registry = registry  # how the registry sources and targets are reached
        self.compression = compression  # of the exported layers the store keeps only unpacked
        self.sources = list(sources)
        self.targets = list(targets)
        self.progress = progress
        self.warn: Callable[[str], None] = warn
        self.remotes: list[RemoteCache] = []
        self.steps: list[StepRecord] = []
        self._pending: dict[str, _Pending] = {}
        #: content digests of paths in stacks of layers that the imported records carry (`builder.mounts`)
        self.selections: dict[str, str] = {}
        self._unusable: dict[str, str] = {}  # key → why a record of it could not be used, for `why_missed`
        self._lock = threading.Lock()

    def open(self) -> None:
        """Read every source's index (warning about, and skipping, those that cannot be read)."""
        for spec in self.sources:
            remote = open_remote(spec, self.store, self.warn, self.registry)
            if remote is not None:
                self.remotes.append(remote)
        for remote in reversed(self.remotes):  # the first source's word counts, as for records
            for record in remote.records.values():
                known = record["parts"].get("selections") if isinstance(record.get("parts"), dict) else None
                if isinstance(known, dict):
                    self.selections.update((k, v) for k, v in known.items() if isinstance(v, str))

    def close(self) -> None:
        for remote in self.remotes:
            remote.close()

    # -- lookups and pending layers ------------------------------------------------------------------------

    def lookup(self, key: str) -> dict | None:
        """The first source's record for ``key`` whose blob is available; registers its layer as pending."""
        for remote in self.remotes:
            record = remote.records.get(key)
            if record is None:
                continue
            if not remote.available(record["result"]):
                digest = record["result"]["digest"]
                self._unusable.setdefault(key, f"cached layer {digest} missing from {remote.name}")
                continue
            result = record["result"]
            with self._lock:
                pending = self._pending.setdefault(result["diff_id"], _Pending(remote, result))
                pending.records[key] = record["parts"]
            return record
        return None

    def lowerdirs(self, diff_ids: Sequence[str]) -> Sequence[Path]:
        """The layers' directories, top first; fetched on first access when some are pending."""
        if not any(d in self._pending for d in diff_ids):
            return [self.store.layer_path(d) for d in reversed(diff_ids)]
        return _LazyLowers(self, list(diff_ids))

    def ensure(self, diff_ids: Iterable[str]) -> None:
        """Fetch, unpack and record locally every pending layer among ``diff_ids``; see the module docstring."""
        wanted = list(dict.fromkeys(d for d in diff_ids if d in self._pending))
        if not wanted:
            return
        from builder.registry.progress import Transfers

        transfers = Transfers(self.progress)
        from concurrent.futures import ThreadPoolExecutor  # with logging, ~5 ms: not for a local build

        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(wanted))) as pool:
            futures = [pool.submit(self._fetch_layer, d, transfers) for d in wanted]
        for future in futures:
            future.result()  # the first failure, in layer order

    def _fetch_layer(self, diff_id: str, transfers) -> None:
        from builder.oci.load import unpack_stored_layer

        pending = self._pending.get(diff_id)
        if pending is None:
            return
        result = pending.result
        layer = {"mediaType": result["mediaType"], "digest": result["digest"], "size": result["size"]}
        try:
            if not self.store.has_blob(layer["digest"]):
                task = transfers.task(layer["digest"], layer["size"], "downloading")
                pending.remote.fetch_blob(self.store, layer, task.update)
                task.done("cached layer fetched")
            unpack_stored_layer(self.store, layer, diff_id)
        except (BuildError, OSError) as exc:
            reason = exc.message if isinstance(exc, BuildError) else str(exc)
            raise RemoteLayerFailed(diff_id, pending.remote.name, reason) from None
        with self._lock:
            self._pending.pop(diff_id, None)
            records = dict(pending.records)
        for key, parts in records.items():
            self.store.cache_put(key, {"parts": parts, "result": result})

    def fetch_blob(self, digest: str) -> bool:
        """Make the blob of a pending layer present in the store (without unpacking); False if none is."""
        for pending in list(self._pending.values()):
            if pending.result["digest"] == digest:
                try:
                    pending.remote.fetch_blob(self.store, pending.result)
                except (BuildError, OSError):
                    return False
                return True
        return False

    def pending_source(self, digest: str) -> RemoteCache | None:
        for pending in list(self._pending.values()):
            if pending.result["digest"] == digest:
                return pending.remote
        return None

    def why_missed(self, key: str) -> str | None:
        """Why an imported record of ``key`` was not used (its blob missing, its layer unusable), else None."""
        return self._unusable.get(key)

    def forget(self, diff_id: str, reason: str = "") -> bool:
        """Drop every imported record naming ``diff_id`` (its layer proved unusable: ``reason``, which
        `why_missed` gives for their keys); False if none did."""
        dropped = False
        for remote in self.remotes:
            for key in [k for k, rec in remote.records.items() if rec["result"]["diff_id"] == diff_id]:
                del remote.records[key]
                self._unusable[key] = reason or f"cached layer {diff_id} from {remote.name} is unusable"
                dropped = True
        with self._lock:
            self._pending.pop(diff_id, None)
        return dropped

    # -- this build's steps, for export --------------------------------------------------------------------

    def add_step(self, key: str, parts: dict, result: dict, chain: str) -> None:
        self.steps.append(StepRecord(key, parts, result, chain))

    def restart(self) -> None:
        """Forget the steps of an attempt that is about to be run again."""
        self.steps.clear()

    def export(self, final_chains: set[str]) -> None:
        """Write this build's records to every ``--cache-to`` target (``mode=min``: only steps whose chain is
        one of ``final_chains``, the final image's). A failed export raises, unless ``ignore-error=true``.
        ``type=inline`` targets are not written here: `builder.sharedcache.inline.set_inline_cache` puts
        their records into the image's config before it is committed."""
        from builder.sharedcache.export import export_cache

        for spec in self.targets:
            if spec.type == "inline":
                continue
            chosen = self.steps if spec.mode == "max" else [s for s in self.steps if s.chain in final_chains]
            records = {s.key: {"parts": s.parts, "result": _clean(s.result)} for s in chosen}
            try:
                export_cache(
                    self.store,
                    spec,
                    records,
                    self,
                    progress=self.progress,
                    registry=self.registry,
                    compression=self.compression,
                )
            except BuildError as exc:
                if not spec.ignore_error:
                    raise
                self.warn(f"warning: cache export to {spec} failed: {exc.message}")


def _clean(result: dict) -> dict:
    keep = ("mediaType", "digest", "size", "diff_id", "created", "annotations")
    return {k: result[k] for k in keep if k in result}


class _LazyLowers(Sequence[Path]):
    """Lowerdirs whose pending layers are fetched on first access (`SharedCache.ensure`)."""

    def __init__(self, shared: SharedCache, diff_ids: list[str]) -> None:
        self._shared = shared
        self._diff_ids = diff_ids
        self._paths: list[Path] | None = None

    def _resolve(self) -> list[Path]:
        if self._paths is None:
            self._shared.ensure(self._diff_ids)
            self._paths = [self._shared.store.layer_path(d) for d in reversed(self._diff_ids)]
        return self._paths

    def __getitem__(self, index):
        return self._resolve()[index]

    def __len__(self) -> int:
        return len(self._resolve())

    def __iter__(self):
        return iter(self._resolve())
