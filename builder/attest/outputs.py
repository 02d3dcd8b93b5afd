"""Where a build's attestations go: the statement source of its request, the store's tags when no image
output attaches them, and ``-o type=local|tar`` files. (`builder.publish.write_outputs` attaches them to
image, registry and oci outputs through `builder.attest.manifests.attach_from`.)"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path


def file_time(epoch: int | None) -> float:
    """The time attestation files get: SOURCE_DATE_EPOCH, else now."""
    return float(epoch) if epoch is not None else time.time()


def statement_source(store, request, facts, platforms):
    """The `builder.attest.manifests.StatementSource` of ``request`` (None when it asks for nothing), made
    from what the solve did (`builder.attest.fromsolve`)."""
    if not request:
        return None
    from builder.attest.fromsolve import statement_source as from_solve

    return remembered(from_solve(store, request, facts, platforms))


def remembered(source):
    """``source`` made once per image and names: every output of one build (the store, a push, a layout)
    carries the same statements, so the same attestation manifests."""
    made: dict = {}

    def once(image):
        if image not in made:
            made[image] = list(source(image))
        return made[image]

    return once


def attest_store_image(store, result, options, statements, platforms):
    """With attestations asked for and no image output, the ``-t`` tags name the result with its
    attestations, as an image store that keeps them (BuildKit's with containerd) holds it; returns that
    index, or None when nothing changes."""
    from builder.refs import parse_ref

    request = options.attestations
    if statements is None or not request or not request.applies_to("image"):
        return None
    if any(output.type in ("image", "registry") for output in options.outputs):
        return None  # those outputs attach and tag
    from builder.attest.manifests import attach_from
    from builder.reshape import packed

    names = [parse_ref(tag) for tag in options.tags]
    # attestations name the image by the digest a later push sends: its layers compressed first
    result = packed(store, result, options.compression)
    attested = attach_from(store, result, statements, names, platforms)
    for ref in names:
        store.set_tag(ref.tag_key, attested.digest)
    return attested


def local_with_attestations(
    store, target, names, output, statements, platforms, several, mtime, request
) -> None:
    """A ``local``/``tar`` output with the attestations of each platform image as files beside its root
    filesystem (one directory per platform for several, as without them); those ``request`` keeps to
    images (the default provenance) are left out."""
    from builder.attest.localfiles import write_files
    from builder.attest.manifests import AttestedImage
    from builder.outputs import export

    if several:
        pairs = list(zip(target.images, target.platforms, strict=True))
    else:
        pairs = [(target, (platforms or [target.platform])[0])]
    for image, platform in pairs:
        made = [
            statement
            for statement in statements(AttestedImage(image.manifest_digest, platform, tuple(names)))
            if request.in_files(statement.predicate_type)
        ]

        def add_files(root: Path, made=made) -> None:
            write_files(root, made, mtime)

        spec = replace(output, dest=str(Path(output.dest) / platform.slug)) if several else output
        export(store, image, names, spec, extra=add_files)
