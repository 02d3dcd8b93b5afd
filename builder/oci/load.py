"""``pybuild load``: read images from a docker-archive, an OCI archive or an OCI layout directory.

For each image: every blob is copied into the store and verified against the digest that names it; each
layer is unpacked into a staging directory (`builder.layer.apply_layer`, overlay form), its computed diff_id
checked against the config's ``rootfs.diff_ids``, and committed as the store's unpacked layer; the compressed
form is recorded (``record_layer_blob``). Only then is the manifest stored and the image's names tagged, so a
tag never points at an image with missing content. A failure leaves no tag and no half-unpacked layer.

An OCI layout names images by its index annotations: ``io.containerd.image.name`` (a full reference), else
``org.opencontainers.image.ref.name`` when it is a full reference itself (``name:tag``); a bare tag such as
``latest`` names no repository, so that image is loaded untagged (addressable by ID). A docker-archive names
them by ``RepoTags``. A docker-archive has no manifest blob: pybuild writes an OCI manifest for it, with the
layer media type that matches each layer file's compression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from builder import diskfull
from builder.errors import BuildError
from builder.faults import checkpoint
from builder.oci import media
from builder.oci.archive import ArchiveError, DirSource, TarSource, open_source
from builder.oci.config import decode, diff_ids, encode, parse_config
from builder.oci.image import Image
from builder.oci.index import is_attestation
from builder.oci.manifest import (
    build_manifest,
    descriptor,
    digest_of,
    manifest_kind,
    parse_index,
    parse_manifest,
)
from builder.oci.schemas import MAX_DOCUMENT, parse_document
from builder.platforms import Platform
from builder.refs import ImageRef, RefError, parse_ref

_CHUNK = 1 << 20


@dataclass
class Loaded:
    """One image read from an archive: the stored image (for a whole index: the host's platform, else the
    first) and the tag keys set for it."""

    image: Image
    tags: list[str] = field(default_factory=list)
    #: the digest of the multi-platform index loaded whole (its tags point at it), else None
    index: str | None = None


def load_archive(store, path: Path, *, platform: Platform | None = None) -> list[Loaded]:
    """Load every image of the archive or layout at ``path`` into ``store``; see the module docstring.

    An OCI index entry that is itself an index (a multi-platform image) is loaded whole, every platform, and
    its names point at the index — unless ``platform`` is given or the archive lacks some platform's
    manifest: then only the manifest for ``platform`` (default: the host's) is loaded and named. Raises
    `ArchiveError`/`BuildError` with the archive's path in the message.
    """
    from builder.store.gc import GC_LOCK

    source = open_source(path)
    # Shared with other writers, exclusive for gc: the blobs are unreferenced until the images are tagged.
    try:
        with store.lock(GC_LOCK, shared=True):
            layout = source.exists("index.json")
            if layout and (source.exists("oci-layout") or not source.exists("manifest.json")):
                return _load_oci(store, source, platform)
            if source.exists("manifest.json"):
                return _load_docker(store, source)
        raise ArchiveError(f"{path}: neither an OCI layout (index.json) nor a docker-archive (manifest.json)")
    finally:
        source.close()


def _copy_blob(
    store, source: DirSource | TarSource, name: str, digest: str | None, size: int | None = None
) -> tuple[str, int]:
    """Stream a file of the archive into the store; with ``digest`` (and ``size``, a descriptor's), verify
    it. A blob the store has already is not copied again, but is still held to ``size``: a manifest that
    misstates a size would make a store that `store verify` reports."""
    if digest is not None and store.has_blob(digest):
        stored = store.blob_size(digest)
        if size is not None and stored != size:
            raise ArchiveError(f"blob {digest} has {stored} bytes, but its descriptor says {size}")
        return digest, stored
    if size is not None and source.size(name) != size:
        raise ArchiveError(
            f"blob {digest or name} has {source.size(name)} bytes, but its descriptor says {size}"
        )
    with (
        diskfull.naming(f"blob {digest or name} in the store at {store.root}"),
        source.open(name) as stream,
        store.blob_writer(expected=digest, expected_size=size) as writer,
    ):
        while chunk := stream.read(_CHUNK):
            writer.write(chunk)
        result = writer.commit()
    checkpoint("load.blob")
    return result


def _blob_name(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/", 1)


def unpack_stored_layer(store, layer: dict, diff_id: str) -> None:
    """Unpack the stored layer blob ``layer`` (a descriptor) into the store if it is not unpacked yet, and
    record the blob as the layer's compressed form. Used by load, pull and the shared cache.

    The blob is checked against ``diff_id`` before it is recorded, whatever is unpacked already: by the
    unpack itself, else by decompressing and hashing it — unless this very blob is recorded for the layer
    (it was checked then). A blob naming another layer's diff_id raises `LayerError` and records nothing.
    """
    from builder.layer import apply_layer
    from builder.layer.identity import check_diff_id

    unpacked = False

    def unpack(staging: Path) -> str:
        nonlocal unpacked
        with store.open_blob(layer["digest"]) as stream:
            computed = apply_layer(stream, staging, mode="overlay", form=store.form, name=layer["digest"])
            while stream.read(_CHUNK):  # read to the end so the store verifies the whole blob
                pass
        if computed != diff_id:
            raise BuildError(
                f"layer {layer['digest']} unpacks to {computed}, but the image config says {diff_id}"
            )
        unpacked = True
        return computed

    store.ensure_layer(diff_id, unpack)
    known = {entry.get("digest") for entry in store.layer_blobs(diff_id)}
    if not unpacked and layer["digest"] not in known:
        with store.open_blob(layer["digest"]) as stream:
            check_diff_id(stream, diff_id, layer["digest"])
    if store.layer_blob(diff_id) is None or store.layer_blob(diff_id)["digest"] != layer["digest"]:
        store.record_layer_blob(diff_id, layer["digest"], layer["size"], layer["mediaType"])


def _store_image(store, source, manifest: dict, manifest_bytes: bytes | None, layer_names: list[str]) -> Image:
    config_desc = manifest["config"]
    config = parse_config(store.read_blob(config_desc["digest"]), f"config {config_desc['digest']}")
    ids = diff_ids(config)
    if len(ids) != len(manifest["layers"]):
        raise BuildError(f"image has {len(manifest['layers'])} layers but its config names {len(ids)}")
    for layer, diff_id, name in zip(manifest["layers"], ids, layer_names, strict=True):
        _copy_blob(store, source, name, layer["digest"], layer["size"])
        unpack_stored_layer(store, layer, diff_id)
    if manifest_bytes is None:
        manifest_bytes = encode(manifest)
    manifest_digest = store.put_blob(manifest_bytes)
    return Image(manifest_digest, manifest, config)


def _ref_from_annotations(annotations: dict) -> ImageRef | None:
    for key in (media.ANNOTATION_IMAGE_NAME, media.ANNOTATION_REF_NAME):
        value = annotations.get(key)
        if not value or (key == media.ANNOTATION_REF_NAME and not any(c in value for c in ":/")):
            continue
        try:
            ref = parse_ref(value)
        except RefError:
            continue
        if ref.tag is not None:
            return ref
    return None


def _load_oci(store, source, platform: Platform | None) -> list[Loaded]:
    index = parse_index(_read_document(source, "index.json"), "index.json")
    if not index["manifests"]:
        raise ArchiveError("index.json names no image: nothing to load")
    results: dict[str, Loaded] = {}
    for entry in index["manifests"]:
        digest = entry["digest"]
        kind = entry.get("mediaType") or ""
        data = _read_verified(source, digest, entry["size"])
        kind = kind or manifest_kind(decode(data, f"blob {digest}"), f"blob {digest}")
        if kind in media.INDEXES and platform is None and digest not in results:
            whole = _load_whole_index(store, source, data, digest)
            if whole is not None:
                results[digest] = whole
        if kind in media.INDEXES and digest not in results:
            digest, data = _select_platform(source, data, digest, platform or Platform.host())
        manifest = parse_manifest(data, f"manifest {digest}") if digest not in results else None
        if manifest is not None:
            config = manifest["config"]
            _copy_blob(store, source, _blob_name(config["digest"]), config["digest"], config["size"])
            names = [_blob_name(layer["digest"]) for layer in manifest["layers"]]
            results[digest] = Loaded(_store_image(store, source, manifest, data, names))
        ref = _ref_from_annotations(entry.get("annotations") or {})
        if ref is not None:
            store.set_tag(ref.tag_key, digest)
            results[digest].tags.append(ref.tag_key)
    return list(results.values())


def _load_whole_index(store, source, data: bytes, digest: str) -> Loaded | None:
    """Every platform of a nested index, when the archive holds all of them: the index is stored as it is, so
    its name keeps serving each platform. None when an entry is missing (only one platform can be loaded)."""
    index = parse_index(data, f"index {digest}")
    entries = index["manifests"]
    if not entries or not all(
        e.get("mediaType") in media.MANIFESTS and source.exists(_blob_name(e["digest"])) for e in entries
    ):
        return None
    images = []
    for entry in entries:
        if is_attestation(entry):
            _load_attestation(store, source, entry)
            continue
        manifest_data = _read_verified(source, entry["digest"], entry["size"])
        manifest = parse_manifest(manifest_data, f"manifest {entry['digest']}")
        config = manifest["config"]
        _copy_blob(store, source, _blob_name(config["digest"]), config["digest"], config["size"])
        names = [_blob_name(layer["digest"]) for layer in manifest["layers"]]
        images.append(_store_image(store, source, manifest, manifest_data, names))
    if not images:
        raise ArchiveError(f"index {digest} names no image, only attestations")
    store.put_blob(data, expected=digest)
    host = Platform.host()
    shown = next((image for image in images if host.matches(image.config)), images[0])
    return Loaded(shown, index=digest)


_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")


def _load_attestation(store, source, entry: dict) -> None:
    """An index's attestation manifest (``builder.attest.manifests``) with its config and statement blobs,
    each verified against its digest; they travel with the index so it can be pushed or saved whole."""
    data = _read_verified(source, entry["digest"], entry["size"])
    manifest = decode(data, f"attestation manifest {entry['digest']}")
    parts = [manifest.get("config"), *(manifest.get("layers") or [])]
    if not all(
        isinstance(p, dict)
        and isinstance(p.get("digest"), str)
        and _SHA256.fullmatch(p["digest"])
        and isinstance(p.get("size"), int)
        and p["size"] >= 0
        for p in parts
    ):  # a digest names a file of the archive: nothing but sha256:<hex> may
        raise ArchiveError(f"attestation manifest {entry['digest']}: malformed descriptors")
    for part in parts:
        _copy_blob(store, source, _blob_name(part["digest"]), part["digest"], part["size"])
    store.put_blob(data, expected=entry["digest"])


def _read_document(source, name: str, what: str | None = None) -> bytes:
    """A JSON document of the archive, read whole: refused beyond `MAX_DOCUMENT` bytes (a hostile archive
    may hold a document of any size)."""
    if source.size(name) > MAX_DOCUMENT:
        raise ArchiveError(f"{what or name} is larger than {MAX_DOCUMENT >> 20} MiB; refusing it")
    with source.open(name) as stream:
        return stream.read(MAX_DOCUMENT + 1)


def _read_verified(source, digest: str, size: int) -> bytes:
    """A manifest or index blob of the archive, checked against its descriptor's digest and size."""
    data = _read_document(source, _blob_name(digest), f"blob {digest}")
    if len(data) != size:
        raise ArchiveError(f"blob {digest} has {len(data)} bytes, but its descriptor says {size}")
    if digest_of(data) != digest:
        raise ArchiveError(f"blob {digest} does not match its digest")
    return data


def _select_platform(source, data: bytes, digest: str, platform: Platform) -> tuple[str, bytes]:
    index = parse_index(data, f"index {digest}")
    for entry in index["manifests"]:
        kind = entry.get("mediaType")
        if kind in media.MANIFESTS and platform.matches(entry.get("platform") or {}):
            return entry["digest"], _read_verified(source, entry["digest"], entry["size"])
    raise ArchiveError(f"index {digest} has no image for platform {platform}")


def parse_archive_manifest(data: bytes) -> list[dict]:
    """A docker-archive's ``manifest.json``, validated against its schema; raises `ArchiveError`."""
    entries = parse_document(data, "docker-archive", "manifest.json", ArchiveError)
    assert isinstance(entries, list)  # the schema says so
    return entries


def _load_docker(store, source) -> list[Loaded]:
    entries = parse_archive_manifest(_read_document(source, "manifest.json"))
    results = []
    for entry in entries:
        layer_names = entry["Layers"]
        if source.size(entry["Config"]) > MAX_DOCUMENT:
            raise ArchiveError(f"config {entry['Config']} is larger than {MAX_DOCUMENT >> 20} MiB; refusing it")
        config_digest, config_size = _copy_blob(store, source, entry["Config"], None)
        layers = []
        for name in layer_names:
            with source.open(name) as stream:
                compression = media.sniff_compression(stream.read(4))
            digest, size = _copy_blob(store, source, name, None)
            layers.append(descriptor(media.layer_media_type(compression), digest, size))
        manifest = build_manifest(descriptor(media.OCI_CONFIG, config_digest, config_size), layers)
        image = _store_image(store, source, manifest, None, layer_names)
        loaded = Loaded(image)
        for tag in entry.get("RepoTags") or []:
            try:
                ref = parse_ref(tag)
            except RefError:
                continue
            store.set_tag(ref.tag_key, image.manifest_digest)
            loaded.tags.append(ref.tag_key)
        results.append(loaded)
    return results
