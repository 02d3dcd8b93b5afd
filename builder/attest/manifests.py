"""Attestations in BuildKit's layout: beside each platform image of an index, an attestation manifest whose
layers are in-toto statements about that image.

The layout, as BuildKit v0.13 writes it (recorded in tests/attest/buildkit/):

* the index lists the platform images first, then one attestation manifest per image, in the same order;
* an attestation manifest's descriptor has platform ``unknown/unknown`` and the annotations
  ``vnd.docker.reference.type: attestation-manifest`` and ``vnd.docker.reference.digest: <image manifest>``;
* the attestation manifest is an image manifest (OCI, or Docker schema2 when the image's is) whose config is
  ``{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[…]}}`` with
  the layers' digests as diff_ids, and whose layers are the statements (``application/vnd.in-toto+json``,
  annotation ``in-toto.io/predicate-type``), each blob the statement's JSON bytes as given.

A statement's subject names the image by purl (`image_purl`) and its manifest digest; whoever makes the
statement fills it in from the `AttestedImage` it is given. Digests of the images do not change when the
attestations are added, so an index assembled elsewhere (``imagetools create``) keeps them valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from builder.faults import checkpoint
from builder.oci import imageids, media
from builder.oci.config import decode, encode
from builder.oci.index import is_attestation
from builder.oci.manifest import descriptor
from builder.platforms import Platform
from builder.refs import ImageRef

INTOTO_MEDIA_TYPE = "application/vnd.in-toto+json"
ANNOTATION_PREDICATE_TYPE = "in-toto.io/predicate-type"
ANNOTATION_REFERENCE_TYPE = media.ANNOTATION_REFERENCE_TYPE
ANNOTATION_REFERENCE_DIGEST = media.ANNOTATION_REFERENCE_DIGEST
REFERENCE_TYPE_ATTESTATION = media.REFERENCE_TYPE_ATTESTATION
#: The platform of an attestation manifest's index entry.
UNKNOWN_PLATFORM = {"architecture": "unknown", "os": "unknown"}


@dataclass(frozen=True)
class AttestationStatement:
    """One in-toto statement: its predicate type and the whole statement as JSON bytes (stored as they are).
    ``path`` is the file name a ``-o type=local`` output writes it under (default from the predicate type,
    see `builder.attest.localfiles`)."""

    predicate_type: str
    body: bytes
    path: str | None = None


@dataclass(frozen=True)
class AttestedImage:
    """What a statement source is told about one platform image it attests: the image's manifest digest,
    the platform the build made it for, and the names it is published under (for the subject's purls)."""

    manifest_digest: str
    platform: Platform
    names: tuple[ImageRef, ...] = ()

    def subjects(self) -> list[dict]:
        """The in-toto subjects BuildKit writes for an image: one per name, the name's purl with the
        platform, and the manifest digest (no names: no subject, as BuildKit)."""
        hex_digest = self.manifest_digest.partition(":")[2]
        return [
            {"name": image_purl(ref, self.platform), "digest": {"sha256": hex_digest}} for ref in self.names
        ]


#: Makes the statements for one image; called once per platform image of each output that carries them.
StatementSource = Callable[[AttestedImage], Sequence[AttestationStatement]]


@dataclass(frozen=True)
class Attestation:
    """An attestation manifest of an index: its descriptor (as the index lists it), the image manifest it
    refers to, and its statements' layer descriptors."""

    descriptor: dict
    reference: str
    layers: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def predicate_types(self) -> list[str]:
        return [(layer.get("annotations") or {}).get(ANNOTATION_PREDICATE_TYPE, "") for layer in self.layers]


def _escape(text: str) -> str:
    return quote(text, safe="")


def image_purl(ref: ImageRef, platform: Platform | None) -> str:
    """BuildKit's purl for an image name (``util/purl.RefToPURL``): ``pkg:docker/NAMESPACE/NAME@TAG?
    digest=…&platform=…`` with the familiar name, each part percent-encoded as packageurl-go encodes it
    (``127.0.0.1%3A5000``, ``linux%2Famd64``)."""
    parts = ref.familiar_name.split("/")
    path = "/".join(_escape(part) for part in parts)
    text = f"pkg:docker/{path}"
    if ref.digest is None:
        text += f"@{_escape(ref.tag or 'latest')}"
    qualifiers = []
    if ref.digest is not None:
        qualifiers.append(f"digest={_escape(ref.digest)}")
    if platform is not None:
        qualifiers.append(f"platform={_escape(str(platform))}")
    return text + ("?" + "&".join(qualifiers) if qualifiers else "")


def store_attestation_manifest(
    store, reference: str, statements: Sequence[AttestationStatement], *, docker: bool = False
) -> dict:
    """Store the statements, the config and the attestation manifest for the image manifest ``reference``;
    returns the manifest's index entry (platform ``unknown/unknown``, the reference annotations).
    Idempotent: the same statements give the same digests."""
    layers = []
    for statement in statements:
        digest = store.put_blob(statement.body)
        layers.append(
            descriptor(
                INTOTO_MEDIA_TYPE,
                digest,
                len(statement.body),
                annotations={ANNOTATION_PREDICATE_TYPE: statement.predicate_type},
            )
        )
    config = encode(
        {
            **UNKNOWN_PLATFORM,
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        }
    )
    config_type, manifest_type = (
        (media.DOCKER_CONFIG, media.DOCKER_MANIFEST) if docker else (media.OCI_CONFIG, media.OCI_MANIFEST)
    )
    config_desc = descriptor(config_type, store.put_blob(config), len(config))
    manifest = encode({"schemaVersion": 2, "mediaType": manifest_type, "config": config_desc, "layers": layers})
    entry = descriptor(
        manifest_type,
        store.put_blob(manifest),
        len(manifest),
        annotations={
            ANNOTATION_REFERENCE_DIGEST: reference,
            ANNOTATION_REFERENCE_TYPE: REFERENCE_TYPE_ATTESTATION,
        },
    )
    entry["platform"] = dict(UNKNOWN_PLATFORM)
    return entry


def attach(
    store,
    result,
    statements: Mapping[str, Sequence[AttestationStatement]],
    *,
    platforms: Sequence[Platform] | None = None,
):
    """An index in the store: ``result`` (an `Image` or an `ImageIndex`) with an attestation manifest for
    each of its platform images that ``statements`` (image manifest digest → statements) has any for.
    Returns the new `ImageIndex` (``result`` itself when there is nothing to attach); a single image becomes
    an index of that image and its attestation manifest, as BuildKit makes it. ``platforms``: the platform
    each image was built for (a single image's entry states it; default the image's config's). Attestation
    manifests ``result`` already has for an image given new statements are replaced. Nothing is tagged."""
    from builder.oci.image import Image
    from builder.oci.index import ImageIndex, image_platform, read_index
    from builder.oci.manifest import build_index

    if not any(statements.values()):
        return result
    if isinstance(result, Image):
        manifest_bytes = store.read_blob(result.manifest_digest)
        kind = result.manifest.get("mediaType") or media.OCI_MANIFEST
        entry = descriptor(kind, result.manifest_digest, len(manifest_bytes))
        platform = platforms[0] if platforms else None
        matches = platform is None or platform.matches(result.config)
        entry["platform"] = image_platform(result) if matches else platform.descriptor_platform()
        entries, annotations, images = [entry], None, [result]
        docker = kind == media.DOCKER_MANIFEST
    elif isinstance(result, ImageIndex):
        attested = {digest for digest, found in statements.items() if found}
        entries = [
            e
            for e in result.document["manifests"]
            if not (
                is_attestation(e) and (e.get("annotations") or {}).get(ANNOTATION_REFERENCE_DIGEST) in attested
            )
        ]
        annotations, images = result.document.get("annotations"), list(result.images)
        docker = result.document.get("mediaType") == media.DOCKER_MANIFEST_LIST
    else:
        raise TypeError(f"cannot attach attestations to {type(result).__name__}")
    for image in images:
        found = statements.get(image.manifest_digest)
        if found:
            entries.append(store_attestation_manifest(store, image.manifest_digest, found, docker=docker))
    data = encode(build_index(entries, annotations=annotations, docker=docker))
    digest = store.put_blob(data)
    checkpoint("image.index")
    imageids.record(store, digest, digest)
    return read_index(store, digest)


def attach_from(store, result, source: StatementSource, names: Sequence[ImageRef], platforms=None):
    """`attach` with the statements ``source`` makes for each platform image of ``result`` published under
    ``names``; ``platforms`` as for `attach` (for an index, the platforms its entries state)."""
    from builder.oci.image import Image

    if isinstance(result, Image):
        stated = list(platforms) if platforms else [result.platform]
        pairs = [(result, stated[0])]
    else:
        pairs = list(zip(result.images, result.platforms, strict=True))
    statements = {
        image.manifest_digest: list(source(AttestedImage(image.manifest_digest, platform, tuple(names))))
        for image, platform in pairs
    }
    return attach(store, result, statements, platforms=platforms)


def attestations_of(store, document: dict) -> list[Attestation]:
    """The attestation manifests an index document lists, each read from the store (those it lacks are
    listed without layers)."""
    found = []
    for entry in document.get("manifests", []):
        if not is_attestation(entry):
            continue
        reference = (entry.get("annotations") or {}).get(ANNOTATION_REFERENCE_DIGEST, "")
        layers: tuple[dict, ...] = ()
        if store.has_blob(entry["digest"]):
            manifest = decode(store.read_blob(entry["digest"]), f"attestation manifest {entry['digest']}")
            layers = tuple(manifest.get("layers") or ())
        found.append(Attestation(entry, reference, layers))
    return found


def manifest_blobs(manifest: dict) -> list[tuple[str, int]]:
    """(digest, size) of the config and layers an attestation manifest names: what must travel with it."""
    return [(d["digest"], d["size"]) for d in [manifest["config"], *manifest.get("layers", [])]]
