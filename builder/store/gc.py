"""`Store.gc`: delete blobs and unpacked layers nothing refers to.

Reachability is generic, so the store needs to know no document schema: the roots are the tag targets,
every ``sha256:<hex>`` string anywhere in a cache record, and any extra roots the caller names; from a
reachable blob that is a small JSON document (a manifest, index or image config), every ``sha256:<hex>``
string in it is reachable too (descriptor digests, ``rootfs.diff_ids``). A reachable diff_id keeps its
unpacked layer and the compressed blobs recorded for it.

Safety against concurrent writers: a process that adds content it will reference later (a build, a pull,
a load) holds ``store.lock(GC_LOCK, shared=True)`` meanwhile; gc takes it exclusive. Independently, nothing
younger than ``grace_seconds`` is deleted, nor anything such young content names, which protects writers
that do not take the lock.

Safety against being killed: documents are deleted before what they name, so a gc that dies half-way leaves
a store that verifies (no manifest whose config or layers are gone).

Records of direct copies (``state/copies/<key>.json``, written by `builder.effects.copyfill` once their layer is
in the store: ``{"diff_id": …`` first) name the layer whose files the next copy may link. They keep
nothing alive; gc removes a record before the layer it names, and any record whose layer is already gone
(or that does not name one), so they never outlive their layers: their number is bounded by the store's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from builder.faults import checkpoint
from builder.store import digest as dg

if TYPE_CHECKING:
    from builder.store.content import ContentStore

#: Held shared by processes adding content, exclusive by gc.
GC_LOCK = "gc"
_JSON_MAX = 4 << 20
_DIGEST_IN_TEXT = re.compile(r"sha256:[0-9a-f]{64}")
#: Where copy records live (`Store.state_dir` name), their file names, and the start of their text.
COPY_RECORDS = "copies"
_COPY_RECORD_NAME = re.compile(r"[0-9a-f]{32}\.json")
_COPY_RECORD_HEAD = re.compile(rb'\{"diff_id":"(sha256:[0-9a-f]{64})"')


@dataclass
class GcReport:
    """What gc removed (or, for a dry run, would remove) and how many bytes of blobs that frees."""

    blobs: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    blob_bytes: int = 0
    records: list[str] = field(default_factory=list)
    copy_records: list[str] = field(default_factory=list)  # file names in state/copies


def gc(
    store: ContentStore,
    *,
    extra_roots: set[str] | frozenset[str] = frozenset(),
    grace_seconds: float = 3600,
    dry_run: bool = False,
    drop_cache_keys: set[str] | frozenset[str] = frozenset(),
) -> GcReport:
    """Remove unreachable blobs and layers older than ``grace_seconds``; see the module docstring.

    ``drop_cache_keys`` are cache records to delete first, under the same exclusive lock, so that what only
    they kept alive goes in the same pass (``pybuild prune``); a dry run deletes none of them but reports
    as if they were gone. ``GcReport.records`` lists the ones actually present.
    """
    report = GcReport()
    with store.lock(GC_LOCK):
        present = set(store.cache_keys())
        report.records = sorted(present & set(drop_cache_keys))
        if not dry_run:
            for key in report.records:
                store.cache_remove(key)
        reachable = reachable_from(store, set(extra_roots), skip_cache=set(report.records))
        cutoff = time.time() - grace_seconds
        blob_stats = {d: _stat(_blob_path(store, d)) for d in store.blobs() if d not in reachable}
        layer_stats = {d: _stat(_layer_path(store, d)) for d in store.layers() if d not in reachable}
        young = {d for d, st in (blob_stats | layer_stats).items() if st is None or st.st_mtime > cutoff}
        # What a young document names stays too: the kept part of the store is always closed under
        # references, so verify never finds a kept manifest whose config or layers went.
        keep = reachable | _closure(store, young)
        doomed = _referrers_first(store, set(blob_stats) - keep)
        doomed_layers = sorted(set(layer_stats) - keep)
        for path in _stale_copy_records(store, set(doomed_layers)):
            report.copy_records.append(path.name)
            if not dry_run:
                _unlink(path)
                checkpoint("gc.sweep")
        for digest in doomed:
            report.blobs.append(digest)
            report.blob_bytes += blob_stats[digest].st_size
            if not dry_run:
                store.remove_blob(digest)
                checkpoint("gc.sweep")
        for diff_id in doomed_layers:
            report.layers.append(diff_id)
            if not dry_run:
                store.remove_layer(diff_id)
                _unlink(store.root / "layerinfo" / dg.ALGORITHM / f"{dg.hex_of(diff_id)}.json")
                checkpoint("gc.sweep")
    return report


def reachable_from(
    store: ContentStore,
    roots: set[str],
    *,
    cache: bool = True,
    skip_cache: set[str] | frozenset[str] = frozenset(),
) -> set[str]:
    """Every digest reachable from the tags, ``roots`` and (with ``cache``) the cache records not in
    ``skip_cache``: blobs, and diff_ids whose unpacked layers are kept. See the module docstring."""
    pending = set(roots) | set(store.tags().values())
    for key in store.cache_keys() if cache else ():
        if key in skip_cache:
            continue
        record = store.cache_get(key)
        if record is not None:
            pending |= set(_DIGEST_IN_TEXT.findall(json.dumps(record)))
    return _closure(store, pending)


def _closure(store: ContentStore, pending: set[str]) -> set[str]:
    """``pending`` and everything it reaches through `_references`."""
    pending = set(pending)
    seen: set[str] = set()
    while pending:
        digest = pending.pop()
        if digest in seen:
            continue
        seen.add(digest)
        pending |= _references(store, digest) - seen
    return seen


def _referrers_first(store: ContentStore, doomed: set[str]) -> list[str]:
    """``doomed`` ordered so that a blob comes after every doomed blob naming it (an index before its
    manifests, a manifest before its config and layers): a gc killed half-way leaves no document whose
    references are gone. Content addressing rules out cycles."""
    refs = {d: _references(store, d) & doomed for d in doomed}
    named_by = dict.fromkeys(doomed, 0)
    for targets in refs.values():
        for target in targets:
            named_by[target] += 1
    ready = sorted(d for d, n in named_by.items() if n == 0)
    ordered = []
    while ready:
        digest = ready.pop(0)
        ordered.append(digest)
        for target in sorted(refs[digest]):
            named_by[target] -= 1
            if named_by[target] == 0:
                ready.append(target)
    return ordered + sorted(doomed - set(ordered))


def _stale_copy_records(store: ContentStore, doomed_layers: set[str]) -> list:
    """The copy records (see the module docstring) naming a layer in ``doomed_layers`` or one the store does
    not hold, or no layer at all (damaged). Only the head of each record is read: a record lists every file
    of its copy."""
    directory = store.root / "state" / COPY_RECORDS
    try:
        names = sorted(n for n in os.listdir(directory) if _COPY_RECORD_NAME.fullmatch(n))
    except FileNotFoundError:
        return []
    stale = []
    for name in names:
        path = directory / name
        try:
            with open(path, "rb") as f:
                head = _COPY_RECORD_HEAD.match(f.read(128))
        except FileNotFoundError:
            continue
        if head is None or head[1].decode() in doomed_layers or not store.has_layer(head[1].decode()):
            stale.append(path)
    return stale


def _blob_path(store: ContentStore, digest: str):
    return store.root / "blobs" / dg.ALGORITHM / dg.hex_of(digest)


def _layer_path(store: ContentStore, diff_id: str):
    return store.root / "layers" / dg.ALGORITHM / dg.hex_of(diff_id)


def _references(store: ContentStore, digest: str) -> set[str]:
    """Digests named inside blob ``digest`` (if it is small JSON) and blobs recorded for it as a diff_id."""
    refs = {b["digest"] for b in store.layer_blobs(digest) if isinstance(b.get("digest"), str)}
    path = store.root / "blobs" / dg.ALGORITHM / dg.hex_of(digest)
    st = _stat(path)
    if st is not None and st.st_size <= _JSON_MAX:
        try:
            text = path.read_bytes().decode()
            json.loads(text)
        except (OSError, ValueError):
            return refs
        refs |= set(_DIGEST_IN_TEXT.findall(text))
    return refs


def _stat(path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _unlink(path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
