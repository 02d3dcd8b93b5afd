"""Multi-platform images in the store: an OCI index naming one image manifest per platform.

`commit_index` writes the index over images already committed (each entry carries the image's platform,
taken from its config) and tags it; `find_index` tells whether a user's name denotes an index, so commands
that show or ship a whole image (``inspect``, ``push``, ``-o type=oci``) can treat it as one. Everything
that needs a single image reads the index through `builder.oci.image.read_image`, which picks a platform.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from builder.errors import BuildError
from builder.faults import checkpoint
from builder.oci import imageids, media
from builder.oci.config import decode, encode
from builder.oci.image import Image, ImageNotFound, read_image
from builder.oci.manifest import ManifestError, build_index, descriptor, manifest_kind, parse_index
from builder.platforms import Platform
from builder.refs import ImageRef, RefError, parse_ref


@dataclass(frozen=True)
class ImageIndex:
    """An index in the store: its digest, the document, and the images it names whose manifests the store
    holds (in the index's order; an entry whose manifest is absent is left out), each with the platform its
    entry states (which a registry client goes by, whatever the image's config says)."""

    digest: str
    document: dict
    images: tuple[Image, ...]
    platforms: tuple[Platform, ...]
    #: the entries that are attestation manifests (``builder.attest.manifests``), whose manifests the store
    #: holds; they are not images and are in neither ``images`` nor ``platforms``
    attestations: tuple[dict, ...] = ()

    @property
    def size(self) -> int:
        return sum(image.size for image in {image.manifest_digest: image for image in self.images}.values())

    def image_for(self, platform: Platform) -> Image:
        for image, stated in zip(self.images, self.platforms, strict=True):
            if platform.matches(stated.descriptor_platform()):
                return image
        raise ImageNotFound(f"no image for platform {platform} in index {self.digest}")


def is_attestation(entry: dict) -> bool:
    """True for an index entry that is an attestation manifest (BuildKit's reference type annotation)."""
    annotations = entry.get("annotations") or {}
    return annotations.get(media.ANNOTATION_REFERENCE_TYPE) == media.REFERENCE_TYPE_ATTESTATION


def image_platform(image: Image) -> dict[str, str]:
    """The OCI ``platform`` object of an image, from its config (os, architecture, variant, os.version)."""
    config = image.config
    doc = {"architecture": config.get("architecture", ""), "os": config.get("os", "")}
    for key in ("os.version", "variant"):
        if config.get(key):
            doc[key] = config[key]
    return doc


def commit_index(
    store,
    images: list[Image],
    *,
    platforms: list[Platform] | None = None,
    tags: Iterable[str | ImageRef] = (),
    annotations: dict | None = None,
    entry_annotations: list[dict] | None = None,
    docker: bool = False,
) -> ImageIndex:
    """Store an OCI index over ``images`` (committed manifests) and tag it. ``annotations`` are the index's,
    ``entry_annotations`` (one dict per image) those of each manifest's descriptor; ``docker``: a Docker
    manifest list instead of an OCI index.

    Each entry's ``platform`` is the matching element of ``platforms`` (the platform each image was built
    for, as BuildKit's exporter records it even when a final ``FROM --platform`` made the image another's),
    else the image's own from its config. Raises `BuildError` if two entries name the same platform.
    Idempotent: the same images and platforms in the same order give the same digest.
    """
    seen: dict[str, str] = {}
    entries = []
    for number, image in enumerate(images):
        described = image_platform(image)
        if platforms is not None and not platforms[number].matches(image.config):
            described = platforms[number].descriptor_platform()
        shown = str(platforms[number]) if platforms is not None else str(image.platform)
        if shown in seen:
            raise BuildError(f"two images for platform {shown} in one index: {seen[shown]}, {image.id}")
        seen[shown] = image.id
        manifest_bytes = store.read_blob(image.manifest_digest)
        kind = image.manifest.get("mediaType") or media.OCI_MANIFEST
        desc = descriptor(kind, image.manifest_digest, len(manifest_bytes))
        desc["platform"] = described
        if entry_annotations and entry_annotations[number]:
            desc["annotations"] = dict(entry_annotations[number])
        entries.append(desc)
    data = encode(build_index(entries, annotations=annotations, docker=docker))
    digest = store.put_blob(data)
    checkpoint("image.index")
    imageids.record(store, digest, digest)  # a multi-platform build's ID is its index digest
    for tag in tags:
        ref = tag if isinstance(tag, ImageRef) else parse_ref(tag)
        store.set_tag(ref.tag_key, digest)
    return _indexed(store, digest, decode(data, "index"))


def read_index(store, digest: str) -> ImageIndex:
    """The index stored as blob ``digest``; raises `ManifestError` if it is not an index."""
    return _indexed(store, digest, parse_index(store.read_blob(digest), f"index {digest}"))


def _indexed(store, digest: str, document: dict) -> ImageIndex:
    images, platforms, attestations = [], [], []
    for entry in document["manifests"]:
        if is_attestation(entry):
            if store.has_blob(entry["digest"]):
                attestations.append(entry)
            continue
        if entry.get("mediaType", media.OCI_MANIFEST) in media.MANIFESTS and store.has_blob(entry["digest"]):
            image = read_image(store, entry["digest"])
            images.append(image)
            platforms.append(Platform.from_document(entry.get("platform") or image.config))
    return ImageIndex(digest, document, tuple(images), tuple(platforms), tuple(attestations))


def find_index(store, name: str | ImageRef) -> ImageIndex | None:
    """The index a user's name (a tag, ``name@digest``, an index digest or a unique prefix of one) points at;
    None when the name denotes a single image or nothing the store holds."""
    digest = None
    if isinstance(name, str) and name.startswith("sha256:") and len(name) == 71:
        digest = name
    else:
        try:
            ref = name if isinstance(name, ImageRef) else parse_ref(name)
            digest = ref.digest or store.get_tag(ref.tag_key)
        except RefError:
            pass
        if digest is None and isinstance(name, str):
            digest = imageids.lookup(store, name.strip())  # an ID or its prefix, as `image.resolve` takes it
    if digest is None or not store.has_blob(digest):
        return None
    try:
        if manifest_kind(decode(store.read_blob(digest), f"blob {digest}")) not in media.INDEXES:
            return None
        return read_index(store, digest)
    except ManifestError:
        return None
