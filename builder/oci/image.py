"""Images in the store: a manifest blob naming a config blob and layer blobs; tags point at manifests.

`load_image` resolves what a user types (``busybox``, ``app:1``, ``app@sha256:…``, an image ID or its prefix,
through `builder.oci.imageids`) to an `Image`; `commit_image` writes the config and manifest of a new image
and tags it. The unpacked form of each layer lives in the store by diff_id; `Image.diff_ids` lists them
bottom first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from builder.errors import BuildError
from builder.faults import checkpoint
from builder.oci import imageids, media
from builder.oci.config import decode, diff_ids, encode
from builder.oci.manifest import (
    ManifestError,
    build_manifest,
    descriptor,
    manifest_kind,
)
from builder.platforms import Platform
from builder.refs import ImageRef, RefError, looks_like_id, parse_ref


class ImageNotFound(BuildError):
    """No image in the store answers to the name or ID the user gave."""


@dataclass(frozen=True)
class Image:
    """An image read from the store. ``manifest`` and ``config`` are the parsed documents (do not mutate)."""

    manifest_digest: str
    manifest: dict
    config: dict

    @property
    def config_digest(self) -> str:
        """The config blob's digest: the image ID ``docker images`` shows."""
        return self.manifest["config"]["digest"]

    @property
    def id(self) -> str:
        return self.config_digest

    @property
    def layers(self) -> list[dict]:
        """Layer descriptors, bottom first."""
        return list(self.manifest["layers"])

    @property
    def diff_ids(self) -> list[str]:
        """Uncompressed layer digests (the store's unpacked-layer keys), bottom first."""
        return diff_ids(self.config)

    @property
    def platform(self) -> Platform:
        config = self.config
        return Platform(config.get("os", ""), config.get("architecture", ""), config.get("variant") or "")

    @property
    def size(self) -> int:
        """Bytes of config and layer blobs: what ``save`` or a push transfers."""
        return self.manifest["config"]["size"] + sum(layer["size"] for layer in self.manifest["layers"])


def read_image(store, manifest_digest: str, *, platform: Platform | None = None) -> Image:
    """The image whose manifest (or index: the entry for ``platform``, default the host's) is the given blob.

    Checks that the config's diff_ids pair with the manifest's layers. Raises `ImageNotFound` if the blob is
    absent, `ManifestError` if the documents are inconsistent.
    """
    if not store.has_blob(manifest_digest):
        raise ImageNotFound(f"image not found: {manifest_digest}")
    # Documents in the store were checked against their schemas when they entered it (pull, load, commit):
    # reading one back is a plain decode, so a build from the store never loads the schema checker.
    manifest = decode(store.read_blob(manifest_digest), f"manifest {manifest_digest}")
    kind = manifest_kind(manifest, f"manifest {manifest_digest}")
    if kind in media.INDEXES:
        return read_image(store, _pick_platform(manifest, platform or Platform.host()), platform=platform)
    if kind not in media.MANIFESTS:
        raise ManifestError(f"manifest {manifest_digest}: not an image manifest (media type {kind[:100]})")
    config = decode(store.read_blob(manifest["config"]["digest"]), f"config {manifest['config']['digest']}")
    if len(diff_ids(config)) != len(manifest["layers"]):
        raise ManifestError(
            f"image {manifest_digest}: the manifest has {len(manifest['layers'])} layers "
            f"but the config names {len(diff_ids(config))}"
        )
    return Image(manifest_digest, manifest, config)


def _pick_platform(index: dict, platform: Platform) -> str:
    for desc in index["manifests"]:
        if desc.get("mediaType") in media.MANIFESTS and platform.matches(desc.get("platform") or {}):
            return desc["digest"]
    raise ImageNotFound(f"no image for platform {platform} in the index")


def tagged_images(store) -> Iterator[tuple[str, str]]:
    """(tag key, manifest digest) for every tag in the store, sorted by tag."""
    yield from sorted(store.tags().items())


def tags_of(store, manifest_digest: str) -> list[str]:
    """The tag keys pointing at ``manifest_digest``, sorted."""
    return sorted(tag for tag, digest in store.tags().items() if digest == manifest_digest)


def resolve(store, name: str | ImageRef, *, platform: Platform | None = None) -> tuple[Image, str | None]:
    """Resolve a user's image name to (image, tag key or None when it was named by digest or ID).

    Order, as Docker's: a full ``sha256:`` digest or 64 hex digits (image ID or manifest digest); a
    reference (tag, or ``name@digest``); a unique prefix of an image ID or manifest digest
    (`builder.oci.imageids.lookup`, which finds untagged images too). Raises `ImageNotFound` ("image not
    found: NAME"), `AmbiguousImageId` for a prefix several images share, or `RefError` for a malformed
    reference.
    """
    if isinstance(name, ImageRef):
        return _resolve_ref(store, name, platform, str(name))
    text = name.strip()
    if looks_like_id(text) and len(text.removeprefix("sha256:")) == 64:
        found = _by_id(store, text, platform)
        if found is not None:
            return found, None
        raise ImageNotFound(f"image not found: {name}")
    try:
        ref = parse_ref(text)
    except RefError:
        if not looks_like_id(text):
            raise
        ref = None
    if ref is not None:
        try:
            return _resolve_ref(store, ref, platform, text)
        except ImageNotFound:
            if not looks_like_id(text):
                raise
    found = _by_id(store, text, platform)
    if found is None:
        raise ImageNotFound(f"image not found: {name}")
    return found, None


def load_image(store, name: str | ImageRef, *, platform: Platform | None = None) -> Image:
    """The `Image` a user's name, reference, digest or ID denotes; see `resolve` for the rules and errors."""
    return resolve(store, name, platform=platform)[0]


def _resolve_ref(store, ref: ImageRef, platform: Platform | None, shown: str) -> tuple[Image, str | None]:
    if ref.digest is not None:
        if not store.has_blob(ref.digest):
            raise ImageNotFound(f"image not found: {shown}")
        return read_image(store, ref.digest, platform=platform), None
    digest = store.get_tag(ref.tag_key)
    if digest is None:
        raise ImageNotFound(f"image not found: {shown}")
    return read_image(store, digest, platform=platform), ref.tag_key


def _by_id(store, text: str, platform: Platform | None) -> Image | None:
    """The image an ID, manifest digest or unique prefix of either denotes (an index: its image for
    ``platform``), or None."""
    target = imageids.lookup(store, text)
    if target is None:
        digest = "sha256:" + text.removeprefix("sha256:")
        if len(digest) != 71 or not store.has_blob(digest):
            return None
        target = digest  # a manifest nothing tags or records (pulled by digest, say)
    try:
        return read_image(store, target, platform=platform)
    except ManifestError:
        return None


def commit_image(
    store,
    config: dict,
    layers: list[dict],
    *,
    tags: Iterable[str | ImageRef] = (),
    docker: bool = False,
    annotations: dict | None = None,
) -> Image:
    """Store ``config`` and a manifest over ``layers`` (descriptors of blobs already in the store) and tag it;
    ``docker``: Docker schema2 media types; ``annotations``: the manifest's.

    The layer blobs must be present (`BuildError` otherwise) and pair with ``config``'s diff_ids. Idempotent:
    the same config and layers give the same digests. ``tags`` are references (strings are parsed).
    """
    if len(layers) != len(diff_ids(config)):
        raise ManifestError(f"{len(layers)} layer blobs for {len(diff_ids(config))} diff_ids in the config")
    for layer in layers:
        if not store.has_blob(layer["digest"]):
            raise BuildError(f"layer blob {layer['digest']} is not in the store")
    config_bytes = encode(config)
    config_digest = store.put_blob(config_bytes)
    checkpoint("image.config")
    config_desc = descriptor(media.OCI_CONFIG, config_digest, len(config_bytes))
    manifest = build_manifest(config_desc, layers, docker=docker, annotations=annotations)
    manifest_bytes = encode(manifest)
    manifest_digest = store.put_blob(manifest_bytes)
    checkpoint("image.manifest")
    imageids.record(store, config_digest, manifest_digest)  # found by its ID even without a tag
    for tag in tags:
        ref = tag if isinstance(tag, ImageRef) else parse_ref(tag)
        store.set_tag(ref.tag_key, manifest_digest)
    return Image(manifest_digest, manifest, config)


def layer_descriptors(store, ids: Iterable[str]) -> list[dict]:
    """Descriptors of the recorded compressed blobs of the given diff_ids (``store.layer_blob``).

    Raises `BuildError` for a layer whose blob was never recorded.
    """
    descs = []
    for diff_id in ids:
        record = store.layer_blob(diff_id)
        if record is None:
            raise BuildError(f"no blob is recorded for layer {diff_id}")
        descs.append(descriptor(record["mediaType"], record["digest"], record["size"]))
    return descs
