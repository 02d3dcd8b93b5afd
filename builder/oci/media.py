"""Media types of OCI and Docker schema2 image documents and layers, and how they map to compression.

OCI and Docker schema2 documents are interchangeable in shape; only the media types differ. A layer's media
type says how its blob is compressed; `layer_media_type` and `layer_compression` convert between the two.
"""

from __future__ import annotations

from builder.errors import BuildError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYOUT_VERSION = "1.0.0"

DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

#: Annotation holding the tag of a manifest in an OCI layout's index.json (the tag only, e.g. ``latest``).
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
#: containerd's annotation with the full image name (``docker.io/library/busybox:latest``).
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
#: BuildKit's annotations on an index entry that is an attestation manifest (``builder.attest.manifests``):
#: the reference type (``attestation-manifest``) and the digest of the image manifest it attests.
ANNOTATION_REFERENCE_TYPE = "vnd.docker.reference.type"
ANNOTATION_REFERENCE_DIGEST = "vnd.docker.reference.digest"
REFERENCE_TYPE_ATTESTATION = "attestation-manifest"

MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})

_LAYER_COMPRESSION = {
    OCI_LAYER: "none",
    OCI_LAYER_NONDIST: "none",
    DOCKER_LAYER: "none",
    OCI_LAYER_GZIP: "gzip",
    OCI_LAYER_NONDIST_GZIP: "gzip",
    DOCKER_LAYER_GZIP: "gzip",
    DOCKER_LAYER_FOREIGN_GZIP: "gzip",
    OCI_LAYER_ZSTD: "zstd",
}

_OCI_LAYER_TYPES = {"none": OCI_LAYER, "gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}
# Docker schema2 has no zstd layer type; registries and Docker accept the OCI one inside a Docker manifest.
_DOCKER_LAYER_TYPES = {"none": DOCKER_LAYER, "gzip": DOCKER_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}


class MediaTypeError(BuildError):
    """A document or layer has a media type pybuild does not understand."""


def layer_media_type(compression: str, *, docker: bool = False) -> str:
    """The layer media type for a compression (``LayerInfo.compression``: ``gzip``, ``zstd`` or ``none``)."""
    table = _DOCKER_LAYER_TYPES if docker else _OCI_LAYER_TYPES
    try:
        return table[compression]
    except KeyError:
        raise MediaTypeError(f"unknown layer compression: {compression!r}") from None


def layer_compression(media_type: str) -> str:
    """``gzip``, ``zstd`` or ``none`` for a layer media type; raises `MediaTypeError` for anything else."""
    try:
        return _LAYER_COMPRESSION[media_type]
    except KeyError:
        raise MediaTypeError(f"unsupported layer media type: {media_type}") from None


def is_layer(media_type: str) -> bool:
    """True for every layer media type pybuild can unpack."""
    return media_type in _LAYER_COMPRESSION


def sniff_compression(head: bytes) -> str:
    """``gzip``, ``zstd`` or ``none`` from the first bytes of a blob (its magic number)."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return "none"
