"""Cache keys from readable parts, the key → result index, and the explanation of a miss.

A step's key is the sha256 of its canonical JSON parts (see DESIGN.md, "Cache keys"):

- ``parent``: the ChainID (OCI image spec) of the layers the step runs on — the base image's diff_ids, then
  each earlier step's. The parent is named by its *content*, not by the parent step's key, as BuildKit's
  content-based keys do: a step that runs again and produces a byte-identical layer (it wrote nothing, or
  ``SOURCE_DATE_EPOCH`` clamped its mtimes) leaves every later step cached. A layer's mtimes are part of its
  content, so a rerun that rewrites files with new times does change it. A base image that is re-tagged with
  the same layers hits; one with other layers misses ("base image changed"). Config that steps see (ENV,
  USER, WORKDIR, SHELL) is part of each step's own parts, so it is never lost by naming the parent this way.
- ``epoch``: the ``SOURCE_DATE_EPOCH`` the layer's mtimes and history time are clamped to (None: unset), so
  a result made under another epoch is never reused.
- ``keyword`` and the step's own parts: for RUN the platform it runs for and the process (argv, the image's
  ENV, the build arguments it gets as environment, user, cwd, network, flags, mounts); for COPY/ADD the
  resolved sources, destination, flags and ``files`` (`builder.sources.digest_sources`: path, type, mode,
  content or link target — never mtime; the owner only where the layer keeps it, ``--from`` without
  ``--chown``); for WORKDIR its path and user. ``COPY --link`` replaces ``parent``: its layer does not depend
  on what it is stacked on. Only RUN keys on the platform: a copy or a directory is the same on every one.

A step's ``selections`` part is not keyed: it records facts the keyed parts were computed from (the content
digest of a path in a stage, by the stage's ChainID; see `builder.mounts.step`), which a build importing the
record may take instead of reading the stage.

A COPY/ADD listing has a line per file, so it would make every record as large as the context. The key
and the record a step hits by hold its digest instead (`keyed`: ``files`` becomes ``files_digest``); only the
step's note keeps the whole listing, which is what an explanation compares.

Besides the keyed parts a step may pass ``about``: facts that do not change what the step does but help to
say why it ran (the values of the variables its text refers to). Both are kept per step identity (file,
stage, line), so the next miss of that step can name what changed: ``ARG VERSION: 1 → 2``,
``COPY: src/app.py changed``, ``parent step ran``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from builder.store.errors import StoreError

#: Bump when the meaning of a key changes, so old records are never reused wrongly.
KEY_VERSION = 3

#: Where a step's parent layers came from in this build, for explanations (`BuildCache.lookup`).
PARENT_RAN, PARENT_CACHED, PARENT_BASE = "ran", "cached", "base"

#: How part names read in an explanation ("{label} changed: old → new").
_LABELS = {
    "argv": "command",
    "user": "USER",
    "cwd": "WORKDIR",
    "workdir": "WORKDIR",
    "path": "WORKDIR path",
    "network": "network",
    "flags": "flags",
    "sources": "sources",
    "dest": "destination",
    "chown": "--chown",
    "chmod": "--chmod",
    "from": "--from",
    "platform": "platform",
    "keyword": "instruction",
    "epoch": "SOURCE_DATE_EPOCH",
}


def canonical(parts: dict) -> bytes:
    # names that are not UTF-8 (os.fsdecode gives them lone surrogates) keep their bytes
    return json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogateescape"
    )


def keyed(parts: dict) -> dict:
    """``parts`` as keys and records hold them: a ``files`` listing is replaced by ``files_digest``, the hex
    sha256 of its canonical JSON. Idempotent, so ``key_of(keyed(p)) == key_of(p)``."""
    files = parts.get("files")
    if not isinstance(files, dict):
        return parts
    rest = {name: value for name, value in parts.items() if name != "files"}
    return {**rest, "files_digest": hashlib.sha256(canonical(files)).hexdigest()}


#: Parts recorded with a step but no part of its key (see the module docstring).
UNKEYED = ("selections",)


def key_of(parts: dict) -> str:
    """The hex cache key of a step's readable ``parts`` (full or `keyed`: both give the same key)."""
    kept = {name: value for name, value in keyed(parts).items() if name not in UNKEYED}
    return hashlib.sha256(canonical({"v": KEY_VERSION, **kept})).hexdigest()


def chain_id(diff_ids: list[str]) -> str:
    """The OCI ChainID of a stack of layers (bottom first); ``"empty"`` for no layers (``FROM scratch``)."""
    if not diff_ids:
        return "empty"
    chain = diff_ids[0]
    for diff_id in diff_ids[1:]:
        chain = "sha256:" + hashlib.sha256(f"{chain} {diff_id}".encode()).hexdigest()
    return chain


@dataclass
class Lookup:
    """The answer to a lookup: the stored record on a hit, else why the step has to run."""

    key: str
    result: dict | None
    reason: str
    #: True when the record came from an imported cache (``--cache-from``): its layer may not be local yet.
    remote: bool = False


def _identity_key(identity: str) -> str:
    return hashlib.sha256(f"identity:{KEY_VERSION}:{identity}".encode()).hexdigest()


def _show(value, limit: int = 60) -> str:
    if value is None:
        return "(unset)"
    if value == "" or value == []:
        return "(empty)"
    text = " ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _change(old, new, limit: int = 40) -> str:
    """``old → new``; long values are cut to the part that differs (from the word where they part)."""
    a, b = _show(old, 1 << 16), _show(new, 1 << 16)
    if len(a) <= limit and len(b) <= limit:
        return f"{a} → {b}"
    same = 0
    while same < min(len(a), len(b)) and a[same] == b[same]:
        same += 1
    start = a.rfind(" ", 0, same) + 1
    mark = "…" if start else ""
    return f"{mark}{_show(a[start:], limit)} → {mark}{_show(b[start:], limit)}"


def _pairs(value) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or [])}


def _variable_change(kind: str, old: dict, new: dict) -> str | None:
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            return f"{kind} {name}: {_change(old.get(name), new.get(name))}"
    return None


def _file_change(keyword: str, old: dict, new: dict) -> str:
    changed = sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))
    first = changed[0]
    more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
    if first not in old:
        what = "added"
    elif first not in new:
        what = "removed"
    else:
        what = "changed" + _description_change(old[first], new[first])
    return f"{keyword}: {first} {what}{more}"


def _description_change(old: str, new: str) -> str:
    """`builder.sources` descriptions are ``type mode uid:gid rest``; name the field that moved."""
    a, b = old.split(" ", 3), new.split(" ", 3)
    if a[0] != b[0] or a[0] not in ("file", "dir") or len(a) < 3 or len(b) < 3:
        return ""
    if a[1] != b[1]:
        return f" (mode {a[1]} → {b[1]})"
    if a[2] != b[2]:
        return f" (owner {a[2]} → {b[2]})"
    return ""


def explain(
    old: dict | None, new: dict, *, old_about: dict | None = None, about: dict | None = None, parent: str = ""
) -> str:
    """Say, in a user's words, what differs between the parts of the step's previous run and now.

    ``parent`` tells where this build's parent layers came from (`PARENT_RAN`, `PARENT_CACHED`,
    `PARENT_BASE`); ``old_about``/``about`` are the unkeyed facts recorded with the parts.
    """
    if old is None:
        return "first build"
    if old.get("parent") != new.get("parent"):
        return {PARENT_RAN: "parent step ran", PARENT_CACHED: "parent step changed"}.get(
            parent, "base image changed"
        )
    # A step at this position that is another instruction now: its other parts differ as a matter of course.
    if old.get("keyword") != new.get("keyword"):
        return f"instruction changed: {_show(old.get('keyword'))} → {_show(new.get('keyword'))}"
    for part, kind in (("args", "ARG"), ("env", "ENV")):
        change = _variable_change(kind, _pairs(old.get(part)), _pairs(new.get(part)))
        if change:
            return change
    old_vars, new_vars = (old_about or {}).get("vars") or {}, (about or {}).get("vars") or {}
    changed_names = [n for n in sorted(set(old_vars) | set(new_vars)) if old_vars.get(n) != new_vars.get(n)]
    if changed_names and any(old.get(p) != new.get(p) for p in set(old) | set(new) if p != "files"):
        name = changed_names[0]
        kind = (new_vars.get(name) or old_vars.get(name))[0]
        before, after = (old_vars.get(name) or [kind, None])[1], (new_vars.get(name) or [kind, None])[1]
        return f"{kind} {name}: {_change(before, after)}"
    old_files, new_files = old.get("files") or {}, new.get("files") or {}
    if old_files != new_files:
        return _file_change(new.get("keyword", "COPY"), old_files, new_files)
    for name in sorted((set(old) | set(new)) - set(UNKEYED)):
        if old.get(name) != new.get(name):
            if name == "mounts":
                return _mount_change(old.get(name) or [], new.get(name) or [])
            label = _LABELS.get(name, name)
            return f"{label} changed: {_change(old.get(name), new.get(name))}"
    return "cached layer missing from the store"


def _mount_text(mount: dict) -> str:
    """A mount as written in ``--mount``, by what names it: type, target, and where it comes from."""
    shown = [f"type={mount.get('type')}", f"target={mount.get('target')}"]
    shown += [f"{name}={mount[name]}" for name in ("from", "source") if mount.get(name) not in (None, "", "/")]
    return ",".join(shown)


def _mount_change(old: list, new: list) -> str:
    """The first mount (`builder.ops.RunOp.key_parts`) that differs: added, removed, retargeted, an option
    that changed, or what it takes from a stage or the context (``content``)."""
    for index in range(max(len(old), len(new))):
        a = old[index] if index < len(old) else None
        b = new[index] if index < len(new) else None
        if a == b:
            continue
        if a is None or b is None:
            return f"--mount {'added' if a is None else 'removed'}: {_mount_text(b if a is None else a)}"
        if _mount_text(a) != _mount_text(b):
            return f"--mount changed: {_mount_text(a)} → {_mount_text(b)}"
        for name in sorted(set(a) | set(b)):
            if name != "content" and a.get(name) != b.get(name):
                return f"--mount {_mount_text(b)}: {name} {_change(a.get(name), b.get(name))}"
        taken = "seed" if b.get("type") == "cache" else "source"
        return f"--mount {_mount_text(b)}: {taken} content changed"
    return "--mount changed"


class BuildCache:
    """The store's cache index seen by one build. ``enabled`` False (``--no-cache``) never hits but still
    records results, so the next build can reuse them. Safe to share one store between concurrent builds:
    every record is replaced by one rename, and a record whose layer is gone or damaged is a miss.

    ``remote`` (a `builder.sharedcache.session.SharedCache`, or anything with
    ``lookup(key) -> record | None`` and ``why_missed(key) -> str | None``) is asked on a local miss; its hits
    come back with ``Lookup.remote`` True and a layer that may still have to be fetched (the remote tracks
    that). When it holds a record for the key that it cannot serve, its ``why_missed`` is the reason shown."""

    def __init__(self, store, *, enabled: bool = True, remote=None) -> None:
        self.store = store
        self.enabled = enabled
        self.remote = remote

    def lookup(
        self,
        identity: str,
        parts: dict,
        *,
        enabled: bool = True,
        disabled_reason: str = "--no-cache",
        about: dict | None = None,
        parent: str = PARENT_BASE,
        key: str | None = None,
    ) -> Lookup:
        """Find the result for ``parts``; ``identity`` names the step across builds (for explanations).
        ``key`` is ``key_of(parts)`` when the caller has it already.

        ``enabled`` False (a ``--no-cache-filter`` stage) misses with ``disabled_reason``. Never raises for
        damaged records or missing layers: they are misses.
        """
        key = key or key_of(parts)
        if not self.enabled:
            return Lookup(key, None, "--no-cache")
        if not enabled:
            return Lookup(key, None, disabled_reason)
        record = self.store.cache_get(key)
        previous = self.store.cache_get(_identity_key(identity)) or {}
        if record is not None and self._complete(record):
            if previous.get("key") != key:  # explain the next miss against this build, not an older one
                self._remember(identity, parts, key, about)
            self.store.cache_touch(key)  # a hit is a use: prune's "until" ages records by their last use
            return Lookup(key, record, "cached")
        remote = self.remote.lookup(key) if self.remote is not None else None
        if remote is not None:
            if previous.get("key") != key:
                self._remember(identity, parts, key, about)
            return Lookup(key, remote, "cached", remote=True)
        old = previous.get("parts") if isinstance(previous.get("parts"), dict) else None
        old_about = previous.get("about") if isinstance(previous.get("about"), dict) else None
        reason = explain(old, parts, old_about=old_about, about=about, parent=parent)
        if old is not None and key_of(old) == key and record is None:
            reason = "cache record missing from the store"
        unusable = self.remote.why_missed(key) if self.remote is not None else None
        return Lookup(key, None, unusable or reason)

    def _complete(self, record: dict) -> bool:
        """The record names a layer whose unpacked directory and blob (of the recorded size) are present."""
        result = record.get("result")
        if not isinstance(result, dict):
            return False
        diff_id, digest, size = result.get("diff_id"), result.get("digest"), result.get("size")
        if not (isinstance(diff_id, str) and isinstance(digest, str) and isinstance(size, int)):
            return False
        try:
            # blob_size raises BlobNotFound (a StoreError) for a blob the store neither keeps nor can make
            return self.store.has_layer(diff_id) and self.store.blob_size(digest) == size
        except (OSError, StoreError):  # an invalid digest in a damaged record, or a blob removed meanwhile
            return False

    def record(self, identity: str, parts: dict, key: str, result: dict, *, about: dict | None = None) -> None:
        """Remember ``result`` (a layer descriptor with ``diff_id``) under ``key`` with the `keyed` parts, and
        the step's full parts in its note (for the next explanation)."""
        self.store.cache_put(key, {"parts": keyed(parts), "result": result})
        self._remember(identity, parts, key, about)

    def _remember(self, identity: str, parts: dict, key: str, about: dict | None) -> None:
        self.store.cache_put(_identity_key(identity), {"parts": parts, "key": key, "about": about or {}})
