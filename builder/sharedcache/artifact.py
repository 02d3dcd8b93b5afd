"""The exported cache as an OCI artifact: documents to write, and their validation when read back.

* config blob (media type `CONFIG_MEDIA_TYPE`): canonical JSON ``{key: {"parts": {...}, "result": {...}}}``,
  keys sorted, so exporting the same records twice gives the same digest; ``parts`` as `builder.cache.keyed`
  gives them (a COPY/ADD file listing only as its digest), so the index does not grow with a context;
* manifest: an OCI image manifest with ``artifactType`` and config media type `CONFIG_MEDIA_TYPE`, whose
  layers are the distinct layer blobs the records' results name (sorted by digest), so a registry keeps
  them as long as the manifest;
* a record's ``result`` is the layer descriptor pybuild records for a step: ``mediaType``, ``digest``,
  ``size``, ``diff_id`` and optionally ``created`` and ``annotations``.

Whatever is read from elsewhere is checked before use; a record that fails a check is dropped (a miss),
never trusted.
"""

from __future__ import annotations

import json
import re

from builder.oci import media
from builder.oci.manifest import ManifestError, descriptor, parse_manifest
from builder.oci.schemas import load_json

CONFIG_MEDIA_TYPE = "application/vnd.pybuild.cache.config.v1+json"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_KEY = re.compile(r"[0-9a-f]{64}")
_MAX_INDEX = 64 << 20


def encode_index(records: dict[str, dict]) -> bytes:
    """The config blob for ``records`` (key → ``{"parts", "result"}``)."""
    index = {key: {"parts": rec["parts"], "result": rec["result"]} for key, rec in records.items()}
    return json.dumps(index, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def build_artifact(config: dict, records: dict[str, dict]) -> dict:
    """The manifest over the index blob's descriptor ``config`` and the layers ``records`` name."""
    layers: dict[str, dict] = {}
    for record in records.values():
        result = record["result"]
        layers[result["digest"]] = descriptor(result["mediaType"], result["digest"], result["size"])
    return {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "artifactType": CONFIG_MEDIA_TYPE,
        "config": {**config, "mediaType": CONFIG_MEDIA_TYPE},
        "layers": [layers[digest] for digest in sorted(layers)],
    }


def encode_document(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def parse_artifact(data: bytes, what: str) -> dict:
    """The config descriptor of a cache manifest; raises `ManifestError` for anything else."""
    doc = parse_manifest(data, what)
    config = doc["config"]
    if config.get("mediaType") != CONFIG_MEDIA_TYPE and doc.get("artifactType") != CONFIG_MEDIA_TYPE:
        raise ManifestError(f"{what} is not a pybuild cache (config media type {config.get('mediaType')!r})")
    if config["size"] > _MAX_INDEX:
        raise ManifestError(f"{what}: the cache index is larger than {_MAX_INDEX >> 20} MiB")
    return config


def parse_index(data: bytes) -> dict[str, dict]:
    """The valid records of an index blob; malformed records are left out. Raises ValueError if the blob is
    not a JSON object (`DocumentError`, a `BuildError`, if it is not JSON or nests too deep)."""
    doc = load_json(data, "the cache index")
    if not isinstance(doc, dict):
        raise ValueError("the cache index is not a JSON object")
    return {key: rec for key, rec in doc.items() if isinstance(key, str) and _KEY.fullmatch(key) and valid(rec)}


def valid(record: object) -> bool:
    """True for ``{"parts": {...}, "result": layer descriptor with diff_id}`` of an unpackable layer."""
    if not isinstance(record, dict) or not isinstance(record.get("parts"), dict):
        return False
    result = record.get("result")
    if not isinstance(result, dict):
        return False
    digest, diff_id, size = result.get("digest"), result.get("diff_id"), result.get("size")
    return (
        isinstance(digest, str)
        and _DIGEST.fullmatch(digest) is not None
        and isinstance(diff_id, str)
        and _DIGEST.fullmatch(diff_id) is not None
        and isinstance(size, int)
        and not isinstance(size, bool)
        and size >= 0
        and media.is_layer(str(result.get("mediaType", "")))
        and isinstance(result.get("created", ""), str)
        and isinstance(result.get("annotations", {}), dict)
    )
