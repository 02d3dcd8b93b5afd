"""``pybuild inspect IMAGE...``: an image's config, manifest and digests as JSON.

Prints a JSON list with one object per image: Docker's fields (``Id`` = config digest, ``RepoTags``,
``Created``, ``Architecture``, ``Os``, ``Config``, ``RootFS``, ``Size``…) plus ``Digest`` (the manifest
digest), ``Manifest`` and ``ImageConfig`` (the documents as stored). ``-f '{{.Config.Cmd}}'`` prints one
field per image instead (``{{json .X}}`` for JSON).

A name that points at a multi-platform index shows the image for ``--platform`` (default: the host's, else
the index's first), with ``Index``: the index's ``Digest``, ``MediaType``, ``Platforms`` and ``Manifests``
(its entries as stored); ``RepoTags`` are then the index's tags. An index with attestation manifests
adds ``Attestations``: each one's ``Digest``, the ``Reference``d image manifest and its ``Platform``, its
``PredicateTypes`` and ``Statements`` (``-f '{{json .Attestations}}'``).
"""

from __future__ import annotations

import argparse
import json
import re

_FIELD_RE = re.compile(r"\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="name, name:tag, digest or image ID")
    parser.add_argument("-f", "--format", help="print fields with a template: '{{.Config.Env}}', '{{json .}}'")
    parser.add_argument("--platform", metavar="OS/ARCH", help="of a multi-platform image, show this platform's")


def describe(store, image, sizes) -> dict:
    """The JSON object ``inspect`` prints for one image."""
    from builder.oci.image import tags_of
    from builder.refs import familiar

    config = image.config
    doc = {
        "Id": image.id,
        "Digest": image.manifest_digest,
        "RepoTags": [familiar(tag) for tag in tags_of(store, image.manifest_digest)],
        "Created": config.get("created", ""),
        "Author": config.get("author", ""),
        "Comment": config.get("comment", ""),
        "Architecture": config.get("architecture", ""),
        "Os": config.get("os", ""),
    }
    if config.get("variant"):
        doc["Variant"] = config["variant"]
    doc.update(
        {
            "Config": config.get("config") or {},
            "RootFS": config.get("rootfs") or {},
            "History": config.get("history") or [],
            "Size": sizes.image_size(image),
            "ManifestMediaType": image.manifest.get("mediaType", ""),
            "Manifest": image.manifest,
            "ImageConfig": config,
        }
    )
    return doc


def describe_name(store, name: str, sizes, platform=None) -> dict:
    """``describe`` for what ``name`` denotes; for a multi-platform index, one platform's image plus the
    index (see the module docstring)."""
    from builder.oci.image import ImageNotFound, load_image, tags_of
    from builder.oci.index import find_index
    from builder.platforms import Platform
    from builder.refs import familiar

    index = find_index(store, name)
    if index is None:
        return describe(store, load_image(store, name, platform=platform), sizes)
    if not index.images:
        raise ImageNotFound(f"{name}: the store holds none of the images its index names")
    try:
        image = index.image_for(platform or Platform.host())
    except ImageNotFound:
        if platform is not None:
            raise
        image = index.images[0]
    doc = describe(store, image, sizes)
    doc["RepoTags"] = [familiar(tag) for tag in tags_of(store, index.digest)]
    doc["Index"] = {
        "Digest": index.digest,
        "MediaType": index.document.get("mediaType", ""),
        "Platforms": [str(p) for p in index.platforms],
        "Manifests": index.document["manifests"],
    }
    if index.attestations:
        doc["Attestations"] = attestations(store, index)
    return doc


def attestations(store, index) -> list[dict]:
    """The ``Attestations`` section: per attestation manifest, its digest, the image manifest it attests
    (``Reference``) and that image's platform, and its statements (predicate type, digest, size)."""
    from builder.attest.manifests import attestations_of

    platforms = {image.manifest_digest: str(p) for image, p in zip(index.images, index.platforms, strict=True)}
    return [
        {
            "Digest": found.descriptor["digest"],
            "Reference": found.reference,
            "Platform": platforms.get(found.reference, ""),
            "PredicateTypes": found.predicate_types,
            "Statements": [
                {"PredicateType": kind, "Digest": layer["digest"], "Size": layer["size"]}
                for kind, layer in zip(found.predicate_types, found.layers, strict=True)
            ],
        }
        for found in attestations_of(store, index.document)
    ]


def _go_text(value) -> str:
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_go_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_go_text(item)}" for key, item in sorted(value.items())) + "]"
    return str(value)


def render_template(template: str, doc: dict) -> str:
    """Substitute ``{{.A.B}}`` / ``{{json .A}}`` fields of ``doc`` (a missing field prints ``<no value>``)."""

    def field(match: re.Match) -> str:
        value = doc
        for part in filter(None, match.group(2).split(".")):
            value = value.get(part) if isinstance(value, dict) else None
        return json.dumps(value) if match.group(1) else _go_text(value)

    return _FIELD_RE.sub(field, template)


def run(args: argparse.Namespace) -> int:
    import sys

    from builder.errors import BuildError, render
    from builder.oci.display import LayerSizes
    from builder.platforms import Platform
    from builder.store import Store

    platform = Platform.parse(args.platform) if args.platform else None
    store = Store.open(args.root, form=args.layer_form)
    sizes = LayerSizes(store)
    docs, failed = [], False
    for name in args.images:
        try:
            docs.append(describe_name(store, name, sizes, platform))
        except BuildError as error:
            failed = True
            print(render(error), file=sys.stderr)
    if args.format:
        for doc in docs:
            print(render_template(args.format, doc))
    else:
        print(json.dumps(docs, indent=4))
    return 1 if failed else 0
