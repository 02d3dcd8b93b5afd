"""Cache keys from readable parts, the key → result index, and the explanation of a miss.

A step's key is the sha256 of its canonical JSON parts: the parent's key (the base image's manifest digest at
the root of a stage chain), the instruction as resolved, the environment and user it runs with, the platform,
and for COPY/ADD the digest of every selected source (path, type, mode, owner, content or link target — never
mtime). The parts are kept beside the result so a later miss of the same step can say what changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

#: Bump when the meaning of a key changes, so old records are never reused wrongly.
KEY_VERSION = 1


def canonical(parts: dict) -> bytes:
    return json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_of(parts: dict) -> str:
    """The hex cache key of a step's readable ``parts``."""
    return hashlib.sha256(canonical({"v": KEY_VERSION, **parts})).hexdigest()


@dataclass
class Lookup:
    """The answer to a lookup: the stored result on a hit, else why the step has to run."""

    key: str
    result: dict | None
    reason: str


def _identity_key(identity: str) -> str:
    return hashlib.sha256(f"identity:{KEY_VERSION}:{identity}".encode()).hexdigest()


def explain(old: dict | None, new: dict) -> str:
    """Say, in a user's words, what differs between the parts of the step's previous run and now."""
    if old is None:
        return "first build"
    if old.get("parent") != new.get("parent"):
        return "parent step ran"
    old_env, new_env = dict(old.get("env") or []), dict(new.get("env") or [])
    for name in sorted(set(old_env) | set(new_env)):
        if old_env.get(name) != new_env.get(name):
            return f"{name}: {old_env.get(name, '(unset)')} → {new_env.get(name, '(unset)')}"
    old_files, new_files = old.get("files") or {}, new.get("files") or {}
    if old_files != new_files:
        changed = sorted(p for p in set(old_files) | set(new_files) if old_files.get(p) != new_files.get(p))
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        return f"{new.get('keyword', 'COPY')}: {changed[0]} changed{more}"
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            return f"{name} changed"
    return "layer missing from the store"


class BuildCache:
    """The store's cache index seen by one build. ``enabled`` False (``--no-cache``) never hits but still
    records results, so the next build can reuse them."""

    def __init__(self, store, *, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled

    def lookup(self, identity: str, parts: dict, *, enabled: bool = True) -> Lookup:
        """Find the result for ``parts``; ``identity`` names the step across builds (for explanations)."""
        key = key_of(parts)
        if not (self.enabled and enabled):
            return Lookup(key, None, "--no-cache")
        record = self.store.cache_get(key)
        if record is not None and self._complete(record):
            return Lookup(key, record, "cached")
        previous = self.store.cache_get(_identity_key(identity))
        return Lookup(key, None, explain(previous.get("parts") if previous else None, parts))

    def _complete(self, record: dict) -> bool:
        result = record.get("result") or {}
        diff_id, digest = result.get("diff_id"), result.get("digest")
        return bool(diff_id and digest) and self.store.has_layer(diff_id) and self.store.has_blob(digest)

    def record(self, identity: str, parts: dict, key: str, result: dict) -> None:
        """Remember ``result`` (a layer descriptor with ``diff_id``) under ``key`` and the step's last parts."""
        self.store.cache_put(key, {"parts": parts, "result": result})
        self.store.cache_put(_identity_key(identity), {"parts": parts, "key": key})
