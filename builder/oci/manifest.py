"""OCI and Docker schema2 image manifests, OCI indexes, and the descriptors they are made of.

Field rules:

* a descriptor is ``{"mediaType", "digest", "size"}`` (plus ``annotations``/``platform`` where allowed);
  ``digest`` is ``sha256:<64 hex>`` of exactly the ``size`` bytes of the blob;
* a manifest has ``schemaVersion: 2``, ``mediaType``, a ``config`` descriptor and ``layers`` (bottom first),
  one per ``rootfs.diff_ids`` entry of the config, in the same order;
* an OCI manifest uses OCI media types throughout; a Docker schema2 manifest uses Docker's (zstd layers keep
  the OCI zstd type, which Docker accepts);
* an index has ``schemaVersion: 2``, ``mediaType`` and ``manifests``: descriptors of manifests, each with a
  ``platform`` when there are several, and with ``annotations`` naming it in an OCI layout.

`parse_manifest` and `parse_index` check these rules (with the schemas of `builder.oci.schemas`) for a
document read from elsewhere before anything is stored from it.
"""

from __future__ import annotations

import hashlib

from builder.oci import media
from builder.oci.config import ConfigError, decode, encode
from builder.oci.schemas import parse_document


class ManifestError(ConfigError):
    """A manifest or index that is malformed or of an unsupported kind."""


def digest_of(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, digest: str, size: int, *, annotations: dict | None = None) -> dict:
    """A content descriptor; ``annotations`` are included only when non-empty."""
    desc: dict = {"mediaType": media_type, "digest": digest, "size": size}
    if annotations:
        desc["annotations"] = dict(annotations)
    return desc


def build_manifest(
    config: dict, layers: list[dict], *, docker: bool = False, annotations: dict | None = None
) -> dict:
    """A manifest from the config descriptor and the layer descriptors (bottom first), with ``annotations``
    when there are any.

    With ``docker`` the manifest and config media types are Docker schema2's and each layer's media type is
    translated to Docker's (same compression); otherwise OCI types are used.
    """
    if docker:
        config = {**config, "mediaType": media.DOCKER_CONFIG}
        layers = [{**layer, "mediaType": _to_docker_layer(layer["mediaType"])} for layer in layers]
        doc = {"schemaVersion": 2, "mediaType": media.DOCKER_MANIFEST, "config": config, "layers": layers}
    else:
        config = {**config, "mediaType": media.OCI_CONFIG}
        layers = [{**layer, "mediaType": _to_oci_layer(layer["mediaType"])} for layer in layers]
        doc = {"schemaVersion": 2, "mediaType": media.OCI_MANIFEST, "config": config, "layers": layers}
    if annotations:
        doc["annotations"] = dict(annotations)
    return doc


def _to_docker_layer(media_type: str) -> str:
    return media.layer_media_type(media.layer_compression(media_type), docker=True)


def _to_oci_layer(media_type: str) -> str:
    return media.layer_media_type(media.layer_compression(media_type))


def build_index(manifests: list[dict], *, annotations: dict | None = None, docker: bool = False) -> dict:
    """An OCI index over manifest descriptors (already carrying their own annotations/platform); with
    ``docker`` a Docker manifest list."""
    kind = media.DOCKER_MANIFEST_LIST if docker else media.OCI_INDEX
    doc: dict = {"schemaVersion": 2, "mediaType": kind, "manifests": list(manifests)}
    if annotations:
        doc["annotations"] = dict(annotations)
    return doc


def manifest_kind(doc: dict, what: str = "document") -> str:
    """The media type of a manifest or index document, inferred when the optional field is absent; raises
    `ManifestError` naming ``what`` when it is neither."""
    media_type = doc.get("mediaType")
    if isinstance(media_type, str) and media_type:
        return media_type
    if "manifests" in doc:
        return media.OCI_INDEX
    if "config" in doc and "layers" in doc:
        return media.OCI_MANIFEST
    raise ManifestError(f"{what} is neither an image manifest nor an index")


def parse_manifest(data: bytes, what: str = "manifest") -> dict:
    """Decode and validate an image manifest (OCI or Docker schema2); raises `ManifestError`.

    Layer media types must be ones pybuild can unpack (`media.is_layer`).
    """
    doc = decode(data, what)
    if doc.get("schemaVersion") != 2:
        raise ManifestError(f"{what}: unsupported schemaVersion {str(doc.get('schemaVersion'))[:40]}")
    kind = manifest_kind(doc, what)
    if kind not in media.MANIFESTS:
        raise ManifestError(f"{what}: not an image manifest (media type {kind[:100]})")
    parse_document(data, "manifest", what, ManifestError)
    for number, layer in enumerate(doc["layers"], 1):
        if not media.is_layer(layer.get("mediaType", "")):
            raise ManifestError(f"{what} layer {number}: unsupported media type {layer.get('mediaType')!r}")
    return doc


def parse_index(data: bytes, what: str = "index") -> dict:
    """Decode and validate an OCI index or Docker manifest list; raises `ManifestError`."""
    doc = decode(data, what)
    if doc.get("schemaVersion") != 2:
        raise ManifestError(f"{what}: unsupported schemaVersion {str(doc.get('schemaVersion'))[:40]}")
    if manifest_kind(doc, what) not in media.INDEXES:
        raise ManifestError(f"{what}: not an index (media type {manifest_kind(doc, what)[:100]})")
    parse_document(data, "index", what, ManifestError)
    return doc


__all__ = [
    "ManifestError",
    "build_index",
    "build_manifest",
    "descriptor",
    "digest_of",
    "encode",
    "manifest_kind",
    "parse_index",
    "parse_manifest",
]
