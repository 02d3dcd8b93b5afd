"""The image config document (OCI ``application/vnd.oci.image.config.v1+json``, same shape as Docker's).

Field rules, as BuildKit writes them:

* top level: ``created`` (RFC 3339, UTC, ``Z``), ``architecture``, ``os``, ``variant`` (only when the
  platform has one), ``config`` (the container config below), ``rootfs`` (``{"type": "layers", "diff_ids":
  [...]}``, the uncompressed digest of each layer, bottom first) and ``history``;
* ``history`` has one entry per step; an entry whose step made no layer carries ``"empty_layer": true``, and
  the entries without it pair one to one, in order, with ``rootfs.diff_ids``;
* the container config holds only the fields that are set, named as Docker names them (`CONFIG_FIELDS`):
  ``Env`` is a list of ``KEY=value``, ``ExposedPorts`` and ``Volumes`` are objects whose values are ``{}``,
  ``Cmd``/``Entrypoint``/``Shell`` are argv lists, ``Healthcheck`` durations are integers in nanoseconds.
  Healthcheck, OnBuild and Shell are Docker extensions the OCI spec does not define; Docker and podman read
  them.

Documents are plain ``dict``s so an image read from elsewhere keeps every field it had. The helpers here
never modify their argument: they return a changed deep copy.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from datetime import UTC, datetime

from builder.errors import BuildError, UsageError
from builder.oci.schemas import load_json, parse_document
from builder.platforms import Platform

CONFIG_FIELDS = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Healthcheck",
    "ArgsEscaped",
    "Volumes",
    "WorkingDir",
    "Labels",
    "OnBuild",
    "StopSignal",
    "Shell",
)

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


class ConfigError(BuildError):
    """An image config that breaks the rules above (e.g. more layers than history entries say)."""


def format_time(epoch: float) -> str:
    """RFC 3339 in UTC with a ``Z``; whole seconds are written without a fraction."""
    moment = datetime.fromtimestamp(epoch, UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    """Parse an RFC 3339 timestamp (nanosecond fractions and offsets allowed); None if it does not parse."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text or "")
    if not match:
        return None
    fraction = (match.group(2) or ".0")[:7]
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    try:
        return datetime.fromisoformat(f"{match.group(1)}{fraction}{zone}")
    except ValueError:
        return None


def build_time() -> str:
    """The ``created`` time of a new image: ``$SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return format_time(int(epoch))
        except ValueError:
            raise UsageError(f"invalid SOURCE_DATE_EPOCH: {epoch!r} (expected an integer)") from None
    return format_time(int(time.time()))


def new_config(platform: Platform, *, created: str | None = None) -> dict:
    """An image config with no layers, no history and an empty container config (``FROM scratch``)."""
    doc: dict = {"created": created or build_time(), "architecture": platform.architecture, "os": platform.os}
    if platform.variant:
        doc["variant"] = platform.variant
    doc["config"] = {}
    doc["rootfs"] = {"type": "layers", "diff_ids": []}
    doc["history"] = []
    return doc


def with_container_config(doc: dict, **fields: object) -> dict:
    """A copy of ``doc`` with container config fields set (a value of None removes the field).

    Field names are Docker's (`CONFIG_FIELDS`); an unknown name is a programming error (ValueError).
    """
    unknown = set(fields) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"unknown container config fields: {sorted(unknown)}")
    result = copy.deepcopy(doc)
    container = result.setdefault("config", {}) or {}
    result["config"] = container
    for name, value in fields.items():
        if value is None:
            container.pop(name, None)
        else:
            container[name] = copy.deepcopy(value)
    return result


def _history_entry(created_by: str, created: str | None, comment: str | None, empty: bool) -> dict:
    entry: dict = {"created": created or build_time()}
    if created_by:
        entry["created_by"] = created_by
    if comment:
        entry["comment"] = comment
    if empty:
        entry["empty_layer"] = True
    return entry


def add_layer(
    doc: dict, diff_id: str, *, created_by: str, created: str | None = None, comment: str | None = None
) -> dict:
    """A copy of ``doc`` with one more layer on top and its history entry."""
    if not _DIGEST_RE.match(diff_id):
        raise ValueError(f"not a sha256 digest: {diff_id!r}")
    result = copy.deepcopy(doc)
    rootfs = result.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    rootfs.setdefault("diff_ids", []).append(diff_id)
    result.setdefault("history", []).append(_history_entry(created_by, created, comment, empty=False))
    return result


def add_empty_history(
    doc: dict, *, created_by: str, created: str | None = None, comment: str | None = None
) -> dict:
    """A copy of ``doc`` with a history entry for a step that made no layer (ENV, CMD, ...)."""
    result = copy.deepcopy(doc)
    result.setdefault("history", []).append(_history_entry(created_by, created, comment, empty=True))
    return result


def diff_ids(doc: dict) -> list[str]:
    """``rootfs.diff_ids`` of a config, validated; raises `ConfigError` if missing or malformed."""
    rootfs = doc.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise ConfigError("image config has no rootfs of type 'layers'")
    if not isinstance(rootfs.get("diff_ids"), list):
        raise ConfigError("image config has no rootfs of type 'layers'")
    ids = rootfs["diff_ids"]
    for diff_id in ids:
        if not isinstance(diff_id, str) or not _DIGEST_RE.match(diff_id):
            raise ConfigError(f"image config has an invalid diff_id: {diff_id!r}")
    return list(ids)


def layer_history(doc: dict) -> list[tuple[dict, str | None]]:
    """Pair each history entry with the diff_id of the layer it made (None for ``empty_layer`` entries).

    A config without history (some importers write none) gets one synthetic entry per layer. Raises
    `ConfigError` when the entries without ``empty_layer`` outnumber the layers.
    """
    ids = diff_ids(doc)
    history = doc.get("history") or [{} for _ in ids]
    pairs: list[tuple[dict, str | None]] = []
    remaining = iter(ids)
    for entry in history:
        if entry.get("empty_layer"):
            pairs.append((entry, None))
            continue
        diff_id = next(remaining, None)
        if diff_id is None:
            raise ConfigError("image config history names more layers than rootfs.diff_ids holds")
        pairs.append((entry, diff_id))
    # Layers the history does not describe still belong to the image.
    pairs.extend(({}, diff_id) for diff_id in remaining)
    return pairs


def encode(doc: dict) -> bytes:
    """The bytes stored for a JSON document: compact, UTF-8, key order as built (deterministic for a build)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes, what: str) -> dict:
    """Parse a JSON document; raises `ConfigError` naming ``what`` if it is not a JSON object (or nests
    deeper than `builder.oci.schemas.MAX_DEPTH`)."""
    doc = load_json(data, what, ConfigError)
    if not isinstance(doc, dict):
        raise ConfigError(f"{what} is not a JSON object")
    return doc


def parse_config(data: bytes, what: str) -> dict:
    """An image config read from elsewhere, validated against its schema (`builder.oci.schemas.CONFIG`);
    raises `ConfigError` naming ``what``. Everything that stores a foreign config reads it through this."""
    doc = parse_document(data, "config", what, ConfigError)
    assert isinstance(doc, dict)  # the schema says so
    return doc
