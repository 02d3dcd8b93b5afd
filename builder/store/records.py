"""Small mutable records: tags (``name:tag`` → manifest digest) and the cache index (key → JSON record)."""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

from builder.faults import checkpoint
from builder.store import digest as dg
from builder.store.errors import BlobNotFound, StoreError
from builder.store.fsutil import atomic_write

_TAGS_LOCK = "tags"
_CACHE_KEY = re.compile(r"[0-9a-f]{16,128}")


class RecordsMixin:
    """Tag and cache-index methods of `Store`; relies on its paths and on `Store._scratch`, `lock`,
    `has_blob`.

    Readers take no lock: every record is replaced by one rename, so a reader sees the old or the new file.
    Tag updates are read-modify-write of one file and therefore run under the ``tags`` lock, so concurrent
    updates from several processes are never lost.
    """

    _tags_file: Path
    _cache: Path

    # -- tags ----------------------------------------------------------------------------------------------

    def tags(self) -> dict[str, str]:
        """All tags, ``ref -> manifest digest``, sorted by ref."""
        try:
            raw = self._tags_file.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            tags = data["tags"]
            if not isinstance(tags, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise StoreError(f"tag file {self._tags_file} is damaged (not a pybuild tag list)") from None
        return {str(k): str(v) for k, v in sorted(tags.items())}

    def get_tag(self, ref: str) -> str | None:
        """The manifest digest ``ref`` points at, or None."""
        return self.tags().get(ref)

    def set_tag(self, ref: str, manifest_digest: str) -> None:
        """Point ``ref`` (already normalised by the caller) at a manifest, replacing any previous target.
        The manifest blob must be in the store (`BlobNotFound` otherwise), so no tag dangles."""
        _check_ref(ref)
        dg.hex_of(manifest_digest, "manifest digest")
        if not self.has_blob(manifest_digest):
            raise BlobNotFound(manifest_digest)
        with self.lock(_TAGS_LOCK):
            tags = self.tags()
            if tags.get(ref) == manifest_digest:
                return
            tags[ref] = manifest_digest
            self._write_tags(tags)

    def remove_tag(self, ref: str) -> bool:
        """Remove ``ref``; returns False if there was no such tag."""
        with self.lock(_TAGS_LOCK):
            tags = self.tags()
            if tags.pop(ref, None) is None:
                return False
            self._write_tags(tags)
        return True

    def _write_tags(self, tags: dict[str, str]) -> None:
        body = json.dumps({"tags": dict(sorted(tags.items()))}, indent=1).encode() + b"\n"
        atomic_write(self._tags_file, body, self._scratch())
        checkpoint("tags.updated")

    # -- cache index ---------------------------------------------------------------------------------------

    def _cache_file(self, key: str) -> Path:
        if not isinstance(key, str) or _CACHE_KEY.fullmatch(key) is None:
            raise StoreError(f"invalid cache key {key!r}: expected 16 to 128 lowercase hex digits")
        return self._cache / key[:2] / f"{key}.json"

    def cache_get(self, key: str) -> dict | None:
        """The record stored under ``key``, or None."""
        try:
            data = json.loads(self._cache_file(key).read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            return None  # only outside damage gets here; a cache miss is the safe answer
        return data if isinstance(data, dict) else None

    def cache_touch(self, key: str) -> None:
        """Mark the record under ``key`` as used now (``prune --filter until=`` ages records by last use);
        a record that vanished meanwhile is no error."""
        with contextlib.suppress(FileNotFoundError):
            os.utime(self._cache_file(key))

    def cache_put(self, key: str, record: dict) -> None:
        """Store ``record`` (JSON-able) under ``key``, replacing any previous one atomically."""
        path = self._cache_file(key)
        if not isinstance(record, dict):
            raise StoreError("a cache record must be a JSON object")
        body = json.dumps(record, sort_keys=True).encode() + b"\n"
        path.parent.mkdir(exist_ok=True)
        atomic_write(path, body, self._scratch())

    def cache_keys(self) -> list[str]:
        """All keys in the cache index."""
        keys = []
        for bucket in os.scandir(self._cache):
            if bucket.is_dir(follow_symlinks=False):
                keys.extend(e.name[:-5] for e in os.scandir(bucket.path) if e.name.endswith(".json"))
        return sorted(keys)

    def cache_remove(self, key: str) -> bool:
        """Drop a cache record; returns False if absent."""
        try:
            os.unlink(self._cache_file(key))
        except FileNotFoundError:
            return False
        return True


def _check_ref(ref: str) -> None:
    if not isinstance(ref, str) or not ref or any(c.isspace() for c in ref):
        raise StoreError(f"invalid image reference {ref!r}")
