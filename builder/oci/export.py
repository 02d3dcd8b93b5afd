"""Export images from the store: OCI image layout (directory or tar) and docker-archive.

OCI layout, as ``docker buildx build --output type=oci`` writes it: ``oci-layout``, ``index.json`` with one
entry per image name (annotations ``org.opencontainers.image.ref.name`` = the tag and
``io.containerd.image.name`` = the full name; an unnamed image gets an entry without them), and every blob
under ``blobs/sha256/<hex>`` exactly as stored, so manifest digests are unchanged. A multi-platform image is
an entry of the index media type naming the nested index blob, which names each platform's manifest.

docker-archive, as ``docker save`` and ``podman save`` write it and ``docker load``/``podman load`` read it:
``manifest.json`` (a list of ``{"Config", "RepoTags", "Layers"}``), the config as ``<hex>.json`` and each layer
as an uncompressed tar ``<diff_id hex>/layer.tar`` (compressed blobs are decompressed through a temp file in the
store and checked against their diff_id on the way).

Blobs are streamed from the store; nothing is held in memory but JSON documents.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import BinaryIO

from builder.errors import BuildError
from builder.oci import media
from builder.oci.archive import DirSink, TarSink
from builder.oci.config import encode
from builder.oci.image import Image
from builder.oci.index import ImageIndex
from builder.oci.manifest import descriptor
from builder.refs import ImageRef

_CHUNK = 1 << 20

#: An image (or a multi-platform index) to export and the names it is exported under (may be empty).
Entry = tuple[Image | ImageIndex, Sequence[ImageRef]]


def _blob_name(digest: str) -> str:
    algorithm, _, hex_digest = digest.partition(":")
    return f"blobs/{algorithm}/{hex_digest}"


def _copy_blob(store, sink: TarSink | DirSink, name: str, digest: str, size: int) -> None:
    with store.open_blob(digest) as stream:
        sink.add_stream(name, stream, size)


def write_oci(
    store, entries: Sequence[Entry], sink: TarSink | DirSink, *, annotations: dict | None = None
) -> dict:
    """Write an OCI image layout holding ``entries`` into ``sink``; returns the index document written.
    ``annotations`` go on each entry's descriptor in ``index.json`` (buildx's ``index-descriptor`` level).

    Into a `DirSink` that already holds a layout, the existing index entries are kept except those whose
    ``org.opencontainers.image.ref.name`` is written again (the new image replaces the old name).
    """
    written: set[str] = set()

    def blob(digest: str, size: int) -> None:
        if digest in written:
            return
        written.add(digest)
        if isinstance(sink, DirSink) and sink.exists(_blob_name(digest)):
            return
        _copy_blob(store, sink, _blob_name(digest), digest, size)

    def image_blobs(image: Image) -> tuple[str, str, int]:
        for layer in image.layers:
            blob(layer["digest"], layer["size"])
        blob(image.config_digest, image.manifest["config"]["size"])
        manifest_bytes = store.read_blob(image.manifest_digest)
        blob(image.manifest_digest, len(manifest_bytes))
        return image.manifest.get("mediaType", media.OCI_MANIFEST), image.manifest_digest, len(manifest_bytes)

    manifests: list[dict] = []
    for item, names in entries:
        if isinstance(item, ImageIndex):
            for image in item.images:
                image_blobs(image)
            for entry in item.attestations:  # an attestation manifest: its config and statements
                document = json.loads(store.read_blob(entry["digest"]))
                for part in [document["config"], *document.get("layers", [])]:
                    blob(part["digest"], part["size"])
                blob(entry["digest"], entry["size"])
            index_bytes = store.read_blob(item.digest)
            blob(item.digest, len(index_bytes))
            media_type, digest, size = media.OCI_INDEX, item.digest, len(index_bytes)
        else:
            media_type, digest, size = image_blobs(item)
        if not names:
            manifests.append(descriptor(media_type, digest, size, annotations=annotations))
        for ref in names:
            named = {media.ANNOTATION_IMAGE_NAME: str(ref), media.ANNOTATION_REF_NAME: ref.tag or ""}
            manifests.append(descriptor(media_type, digest, size, annotations={**(annotations or {}), **named}))

    if isinstance(sink, DirSink) and sink.exists("index.json"):
        manifests = _merge_index(sink, manifests)
    index = {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": manifests}
    sink.add_bytes("oci-layout", json.dumps({"imageLayoutVersion": media.OCI_LAYOUT_VERSION}).encode())
    sink.add_bytes("index.json", encode(index))
    return index


def _merge_index(sink: DirSink, manifests: list[dict]) -> list[dict]:
    try:
        old = json.loads((sink.root / "index.json").read_bytes()).get("manifests", [])
    except (OSError, ValueError, AttributeError):
        return manifests
    new_names = {m.get("annotations", {}).get(media.ANNOTATION_REF_NAME) for m in manifests} - {None}
    kept = [m for m in old if (m.get("annotations") or {}).get(media.ANNOTATION_REF_NAME) not in new_names]
    return kept + manifests


def write_docker_archive(store, entries: Sequence[Entry], sink: TarSink | DirSink) -> list[dict]:
    """Write a docker-archive holding ``entries`` into ``sink``; returns the ``manifest.json`` list written.

    ``RepoTags`` are full names (``docker.io/library/busybox:latest``): ``docker load`` shortens them as
    usual, and ``podman load`` then names the image as pybuild does (it reads a short name as ``localhost/…``).
    """
    written: set[str] = set()
    manifest_json: list[dict] = []
    for image, names in entries:
        config_name = image.config_digest.removeprefix("sha256:") + ".json"
        if config_name not in written:
            written.add(config_name)
            _copy_blob(store, sink, config_name, image.config_digest, image.manifest["config"]["size"])
        layer_names = []
        for layer, diff_id in zip(image.layers, image.diff_ids, strict=True):
            name = diff_id.removeprefix("sha256:") + "/layer.tar"
            layer_names.append(name)
            if name not in written:
                written.add(name)
                _write_uncompressed_layer(store, sink, name, layer, diff_id)
        manifest_json.append(
            {"Config": config_name, "RepoTags": [str(ref) for ref in names], "Layers": layer_names}
        )
    sink.add_bytes("manifest.json", json.dumps(manifest_json, separators=(",", ":")).encode())
    return manifest_json


def _write_uncompressed_layer(store, sink: TarSink | DirSink, name: str, layer: dict, diff_id: str) -> None:
    if media.layer_compression(layer["mediaType"]) == "none":
        _copy_blob(store, sink, name, layer["digest"], layer["size"])
        return
    from builder.layer import open_decompressed

    scratch = store.staging_dir()
    try:
        tmp_path = scratch / "layer.tar"
        hasher = hashlib.sha256()
        with store.open_blob(layer["digest"]) as blob, open(tmp_path, "w+b") as tmp:
            plain: BinaryIO = open_decompressed(blob)
            while chunk := plain.read(_CHUNK):
                hasher.update(chunk)
                tmp.write(chunk)
            size = tmp.tell()
            if "sha256:" + hasher.hexdigest() != diff_id:
                raise BuildError(
                    f"layer {layer['digest']} does not decompress to its diff_id {diff_id}: "
                    "the store is damaged"
                )
            tmp.seek(0)
            sink.add_stream(name, tmp, size)
    finally:
        store.discard_staging(scratch)
