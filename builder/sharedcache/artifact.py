"""The exported cache as an OCI artifact: documents to write, and their validation when read back.

* config blob (media type `CONFIG_MEDIA_TYPE`): canonical JSON ``{key: {"parts": {...}, "result": {...}}}``,
  keys sorted, so exporting the same records twice gives the same digest; ``parts`` as `builder.cache.keyed`
  gives them (a COPY/ADD file listing only as its digest), so the index does not grow with a context;
* the document over it, in BuildKit's two layouts (``image-manifest``): by default an OCI index (a Docker
  manifest list with ``oci-mediatypes=false``) whose entries are the distinct layer blobs the records'
  results name (sorted by digest, each annotated with its diff_id as ``containerd.io/uncompressed``)
  followed by the index blob's descriptor; with ``image-manifest=true`` an OCI image manifest with config
  media type `CONFIG_MEDIA_TYPE` whose layers are those blobs (an ``artifactType`` of that type, which
  earlier exports carry, is accepted when read). Either way a registry keeps the layers as long as the
  document;
* a record's ``result`` is the layer descriptor pybuild records for a step: ``mediaType``, ``digest``,
  ``size``, ``diff_id`` and optionally ``created`` and ``annotations``.

Whatever is read from elsewhere is checked before use; a record that fails a check is dropped (a miss),
never trusted.
"""

from __future__ import annotations

import json
import re

from builder.oci import media
from builder.oci.manifest import ManifestError, descriptor, manifest_kind, parse_manifest
from builder.oci.manifest import parse_index as parse_index_document
from builder.oci.schemas import load_json

CONFIG_MEDIA_TYPE = "application/vnd.pybuild.cache.config.v1+json"
UNCOMPRESSED = "containerd.io/uncompressed"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_KEY = re.compile(r"[0-9a-f]{64}")
_MAX_INDEX = 64 << 20


class NotACache(ManifestError):
    """A well-formed image manifest or index that holds no pybuild cache (it may be an image)."""


def encode_index(records: dict[str, dict]) -> bytes:
    """The config blob for ``records`` (key → ``{"parts", "result"}``)."""
    index = {key: {"parts": rec["parts"], "result": rec["result"]} for key, rec in records.items()}
    return json.dumps(index, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def build_artifact(config: dict, records: dict[str, dict], *, image_manifest: bool = True) -> dict:
    """The document over the index blob's descriptor ``config`` and the layers ``records`` name: an image
    manifest (``image_manifest``) or an index; the layers' media types are taken from the records (a
    Docker type makes the index a Docker manifest list, as ``oci-mediatypes=false`` asks)."""
    layers: dict[str, dict] = {}
    for record in records.values():
        result = record["result"]
        # the diff_id under containerd's name, as BuildKit annotates its cache's layers
        annotations = {UNCOMPRESSED: result["diff_id"]}
        layers[result["digest"]] = descriptor(
            result["mediaType"], result["digest"], result["size"], annotations=annotations
        )
    ordered = [layers[digest] for digest in sorted(layers)]
    config = {**config, "mediaType": CONFIG_MEDIA_TYPE}
    if image_manifest:
        return {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "config": config,
            "layers": ordered,
        }
    docker = any(layer["mediaType"].startswith("application/vnd.docker.") for layer in ordered)
    kind = media.DOCKER_MANIFEST_LIST if docker else media.OCI_INDEX
    return {"schemaVersion": 2, "mediaType": kind, "manifests": [*ordered, config]}


def encode_document(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def parse_artifact(data: bytes, what: str) -> dict:
    """The config descriptor of a cache document (either layout); raises `ManifestError` for anything else,
    `NotACache` for a valid image manifest or index that is not a pybuild cache."""
    doc = load_json(data, what, ManifestError)
    if isinstance(doc, dict) and manifest_kind(doc, what) in media.INDEXES:
        parse_index_document(data, what)
        entries = [e for e in doc["manifests"] if e.get("mediaType") == CONFIG_MEDIA_TYPE]
        if not entries:
            raise NotACache(f"{what} is not a pybuild cache (no {CONFIG_MEDIA_TYPE} entry)")
        config = entries[-1]
    else:
        doc = parse_manifest(data, what)
        config = doc["config"]
        if config.get("mediaType") != CONFIG_MEDIA_TYPE and doc.get("artifactType") != CONFIG_MEDIA_TYPE:
            raise NotACache(f"{what} is not a pybuild cache (config media type {config.get('mediaType')!r})")
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


def valid_key(key: object) -> bool:
    """True for a cache key: 64 lower-case hex digits."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


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
