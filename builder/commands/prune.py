"""``pybuild prune [--all] [--keep-storage SIZE] [--filter until=DURATION] [--dry-run]``: free build cache.

As ``docker builder prune``: by default only cache that no tagged image uses goes (a record whose layer is in
some tagged image costs nothing extra); ``--all`` drops every cache record. Records whose layer or blob is
gone, or that cannot be read, are always removed. ``--filter until=24h`` spares records younger than that;
``--keep-storage 5GB`` removes the oldest candidates only until the cache holds no more than that. Then the
store's garbage collection removes every blob and unpacked layer that nothing reaches any more. Tagged
images are never removed (``pybuild rmi`` untags them).

Prune takes the store's gc lock exclusively: while a build (or a load, an import) holds it shared, prune
waits — it never removes what a running build uses. Content younger than `GRACE_SECONDS` is spared too, for
writers that do not take the lock. A record's age is the time its file was last written.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from dataclasses import dataclass

from builder.errors import UsageError

#: Unreferenced blobs and layers younger than this are kept: a writer that does not hold the gc lock (a
#: registry pull) may be about to reference them.
GRACE_SECONDS = 60
#: Keys of cache-mount entries start with this (record keys are hex).
MOUNT_PREFIX = "mount:"

_SIZE = re.compile(r"(?i)\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_size(text: str) -> int:
    """``512MB``, ``5g``, ``1.5GiB``, ``1024`` → bytes (binary multiples, as docker's ``--keep-storage``)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise UsageError(f"invalid size {text!r}", hint="use a number with an optional unit: 512MB, 5GB")
    power = " kmgtp".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * (1024**power))


def parse_duration(text: str) -> float:
    """A Go duration (``24h``, ``1h30m``, ``90s``, ``1.5h``) → seconds."""
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise UsageError(f"invalid duration {text!r}", hint="use Go's form: 24h, 90m, 1h30m, 45s")
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def parse_filters(values: list[str]) -> float | None:
    """The ``until`` filter in seconds (None if absent); any other filter key is refused."""
    until = None
    for value in values:
        key, eq, rest = value.partition("=")
        if not eq or key.strip() != "until":
            raise UsageError(f"unsupported filter {value!r}", hint="supported: until=DURATION")
        until = parse_duration(rest.strip())
    return until


@dataclass
class CacheEntry:
    """One cache record: its key, age in seconds, the layer it keeps (if any), and what it frees."""

    key: str
    age: float
    what: str
    diff_id: str | None = None
    size: int = 0
    dangling: bool = False


def cache_entries(store, now: float) -> list[CacheEntry]:
    """Every cache record, with its layer's size (blob + unpacked tree) and whether it is dangling."""
    entries = []
    for key in store.cache_keys():
        path = store.root / "cache" / key[:2] / f"{key}.json"
        try:
            age = now - os.stat(path).st_mtime
        except FileNotFoundError:
            continue
        record = store.cache_get(key)
        entry = CacheEntry(key, age, "damaged record", dangling=True)
        if isinstance(record, dict) and isinstance(record.get("result"), dict):
            entry = _layer_entry(store, key, age, record)
        elif isinstance(record, dict) and isinstance(record.get("key"), str):
            # A step note: what a step was last time, to explain its next miss ("cache record missing" once
            # its record is pruned). Tiny; only --all removes it.
            entry = CacheEntry(key, age, "note")
        entries.append(entry)
    return entries


def _layer_entry(store, key: str, age: float, record: dict) -> CacheEntry:
    result, parts = record["result"], record.get("parts") or {}
    what = str(parts.get("keyword", "layer")) if isinstance(parts, dict) else "layer"
    diff_id, digest = result.get("diff_id"), result.get("digest")
    entry = CacheEntry(key, age, what, diff_id if isinstance(diff_id, str) else None)
    try:
        entry.dangling = not (store.has_layer(entry.diff_id) and store.has_blob(digest))
    except Exception:  # a damaged record's digests may not even parse
        entry.dangling = True
    if not entry.dangling:
        entry.size = store.blob_size(digest) + tree_size(store.layer_path(entry.diff_id))
    return entry


def tree_size(path) -> int:
    """Bytes used by the files below ``path`` (hard links counted once), without following symlinks."""
    total, seen = 0, set()
    stack = [os.fspath(path)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                st = entry.stat(follow_symlinks=False)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_blocks * 512
    return total


def cache_mount_entries(store, now: float) -> list[CacheEntry]:
    """``RUN --mount=type=cache`` directories, one entry per instance (key ``mount:<dir>``, age = time since
    a step last used it, size = its tree), chosen by the same rules as records; `remove_cache_mounts`
    deletes them. Each is its own "layer" (``diff_id`` = its key), which no image ever holds."""
    from builder.mounts import CacheDirs

    entries = []
    for instance in CacheDirs(store.state_dir("cache-mounts")).instances():
        key = f"{MOUNT_PREFIX}{instance.key}"
        entries.append(CacheEntry(key, now - instance.last_used, "mount", key, instance.size))
    return entries


def remove_cache_mounts(store, entries: list[CacheEntry]) -> list[CacheEntry]:
    """Delete the cache-mount instances among ``entries``; returns those removed (one a running step uses
    is kept)."""
    from builder.mounts import CacheDirs

    dirs = CacheDirs(store.state_dir("cache-mounts"))
    return [e for e in entries if e.key.startswith(MOUNT_PREFIX) and dirs.remove(e.key[len(MOUNT_PREFIX) :])]


def choose(
    entries: list[CacheEntry],
    in_images: set[str],
    *,
    everything: bool,
    until: float | None,
    keep_storage: int | None,
) -> list[CacheEntry]:
    """The entries to remove, oldest first: see the module docstring for the rules."""
    dangling = [e for e in entries if e.dangling]
    candidates = [
        e
        for e in entries
        if not e.dangling
        and (everything or e.diff_id not in in_images)
        and (until is None or e.age >= until)
        and e.what != "note"
    ]
    candidates.sort(key=lambda e: -e.age)
    if keep_storage is not None:
        # Space is counted once per layer, and only for layers no tagged image keeps anyway.
        sizes = {e.diff_id: e.size for e in entries if not e.dangling and e.diff_id not in in_images}
        holders: dict[str | None, int] = {}
        for e in entries:
            if not e.dangling:
                holders[e.diff_id] = holders.get(e.diff_id, 0) + 1
        total = sum(sizes.values())
        chosen = []
        for e in candidates:
            if total <= keep_storage:
                break
            chosen.append(e)
            holders[e.diff_id] -= 1
            if holders[e.diff_id] == 0:
                total -= sizes.get(e.diff_id, 0)
        candidates = chosen
    notes = [e for e in entries if everything and e.what == "note" and (until is None or e.age >= until)]
    return dangling + candidates + notes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="remove all build cache, not only unused")
    parser.add_argument(
        "--keep-storage", metavar="SIZE", help="keep this much cache (oldest goes first), e.g. 5GB"
    )
    parser.add_argument(
        "--filter", action="append", default=[], metavar="until=DURATION", help="only cache older than this"
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")


def run(args: argparse.Namespace) -> int:
    from builder.oci.display import human_size
    from builder.store import LockBusy, Store
    from builder.store.gc import GC_LOCK, reachable_from

    until = parse_filters(args.filter)
    keep = parse_size(args.keep_storage) if args.keep_storage is not None else None
    with Store.open(args.root, form=args.layer_form) as store:
        try:
            with store.lock(GC_LOCK, blocking=False):
                pass
        except LockBusy:
            print("waiting for running builds to finish...", flush=True)
        # Chosen while no build runs. A build starting before the removal below makes gc wait for it; at
        # worst a record it rewrote under a chosen key goes, which costs a cache miss, never an image.
        with store.lock(GC_LOCK):
            if not args.dry_run:
                _remove_dead_builds_leftovers(store)
            now = time.time()
            entries = cache_entries(store, now) + cache_mount_entries(store, now)
            in_images = reachable_from(store, set(), cache=False)
            doomed = choose(entries, in_images, everything=args.all, until=until, keep_storage=keep)
            mounts = [e for e in doomed if e.key.startswith(MOUNT_PREFIX)]
            if not args.dry_run:
                gone = remove_cache_mounts(store, mounts)
                doomed = [e for e in doomed if not e.key.startswith(MOUNT_PREFIX)] + gone
        records = {e.key for e in doomed if not e.key.startswith(MOUNT_PREFIX)}
        report = store.gc(grace_seconds=GRACE_SECONDS, dry_run=args.dry_run, drop_cache_keys=records)
    verb = "would remove" if args.dry_run else "removed"
    for e in doomed:
        note = "dangling" if e.dangling else "-" if e.what == "note" else human_size(e.size)
        name = e.key if e.key.startswith(MOUNT_PREFIX) else e.key[:12]
        print(f"{verb} cache {name}  {e.what:<8} {note:>9}  {_age(e.age)} old")
    for digest in report.layers:
        print(f"{verb} layer {digest}")
    for digest in report.blobs:
        print(f"{verb} blob  {digest}")
    total = human_size(report.blob_bytes)
    print(
        f"{verb} {len(doomed)} cache records, {len(report.layers)} layers and {len(report.blobs)} blobs"
        f" ({total} of blobs)"
    )
    return 0


def _remove_dead_builds_leftovers(store) -> None:
    """Containers, mounts and run directories of builds that were killed (their watchdog has stopped the
    containers; what remains holds layers mounted)."""
    from builder import runtime

    runtime.cleanup_stale(store.state_dir("runtime"))


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
