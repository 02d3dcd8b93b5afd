"""``pybuild imagetools create|inspect``: images in a registry, as ``docker buildx imagetools`` handles them.

* ``create -t REF [-t REF…] [--append] [--dry-run] SRC…``: one index over the sources (images or indexes,
  maybe pushed from different machines), attestation manifests kept, pushed to each REF
  (`builder.registry.assemble`); ``--dry-run`` prints the index instead, ``--append`` adds the sources to
  the index at the first REF.
* ``inspect REF [--raw] [--format TEMPLATE]``: buildx's text summary of a manifest or index; ``--raw`` the
  document itself; ``--format`` a template over ``.Name``, ``.Manifest``, ``.Image`` (the config, or per
  platform), ``.Provenance`` (``{"SLSA": predicate}``) and ``.SBOM`` (``{"SPDX": document}``), per
  platform when the index has several (keys ``os/arch``); ``{{json .X}}`` prints JSON as buildx does.
"""

from __future__ import annotations

import argparse
import json
import re

_FIELD_RE = re.compile(r"\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}")
SLSA_PREFIX = "https://slsa.dev/provenance/"
SPDX_TYPE = "https://spdx.dev/Document"


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="imagetools_command", metavar="COMMAND", required=True)
    create = commands.add_parser("create", help="make an index in a registry from images and indexes there")
    create.add_argument("sources", nargs="*", metavar="SOURCE", help="an image or index in a registry")
    create.add_argument(
        "-t", "--tag", action="append", default=[], metavar="REF", help="where to push the index (repeatable)"
    )
    create.add_argument("--append", action="store_true", help="add the sources to the index at the first tag")
    create.add_argument("--dry-run", action="store_true", help="print the index instead of pushing it")
    inspect = commands.add_parser("inspect", help="show a manifest or index in a registry")
    inspect.add_argument("name", metavar="REF", help="an image or index in a registry")
    inspect.add_argument("--raw", action="store_true", help="print the document as the registry holds it")
    inspect.add_argument("--format", metavar="TEMPLATE", help="'{{json .Provenance}}', '{{json .Manifest}}'…")


def _platform_text(platform: dict | None) -> str:
    platform = platform or {}
    parts = [platform.get("os", ""), platform.get("architecture", "")]
    if platform.get("variant"):
        parts.append(platform["variant"])
    return "/".join(parts)


def summary(name: str, media_type: str, digest: str, document: dict) -> str:
    """buildx's text form of ``imagetools inspect`` (``Name:``, ``MediaType:``, ``Digest:``, and for an index
    its ``Manifests:`` with their platforms and annotations)."""
    lines = [f"Name:      {name}", f"MediaType: {media_type}", f"Digest:    {digest}"]
    entries = document.get("manifests")
    if entries is not None:
        lines += [" " * 11, "Manifests: "]
        for number, entry in enumerate(entries):
            if number:
                lines.append(" " * 15)
            lines += [
                f"  Name:        {name}@{entry['digest']}",
                f"  MediaType:   {entry.get('mediaType', '')}",
                f"  Platform:    {_platform_text(entry.get('platform'))}",
            ]
            annotations = entry.get("annotations") or {}
            if annotations:
                lines.append("  Annotations: ")
                width = max(len(key) for key in annotations) + 1
                lines += [f"    {(key + ':').ljust(width)} {annotations[key]}" for key in sorted(annotations)]
    return "\n".join(lines)


def _json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def render(template: str, fields: dict) -> str:
    def field(match: re.Match) -> str:
        value = fields
        for part in filter(None, match.group(2).split(".")):
            value = value.get(part) if isinstance(value, dict) else None
        if match.group(1):
            return _json(value)
        return "<no value>" if value is None else str(value)

    return _FIELD_RE.sub(field, template)


def template_fields(repo, name: str, document: dict, fetch_blob) -> dict:
    """The values a ``--format`` template sees (see the module docstring); ``fetch_blob(digest)`` reads a
    blob of the repository."""
    from builder.oci import media
    from builder.oci.index import is_attestation

    fields: dict = {"Name": name, "Manifest": document}
    if "manifests" not in document:
        fields["Image"] = json.loads(fetch_blob(document["config"]["digest"]))
        return fields
    images = [
        e for e in document["manifests"] if not is_attestation(e) and e.get("mediaType") in media.MANIFESTS
    ]
    attestations = {
        (e.get("annotations") or {}).get(media.ANNOTATION_REFERENCE_DIGEST): e
        for e in document["manifests"]
        if is_attestation(e)
    }
    per_platform: dict[str, dict] = {}
    for entry in images:
        key = _platform_text(entry.get("platform"))
        manifest = json.loads(repo.get_manifest(entry["digest"]).data)
        values = {"Image": json.loads(fetch_blob(manifest["config"]["digest"]))}
        found = attestations.get(entry["digest"])
        if found is not None:
            statements = json.loads(repo.get_manifest(found["digest"]).data).get("layers", [])
            for layer in statements:
                kind = (layer.get("annotations") or {}).get("in-toto.io/predicate-type", "")
                if kind.startswith(SLSA_PREFIX) and "Provenance" not in values:
                    values["Provenance"] = {"SLSA": json.loads(fetch_blob(layer["digest"])).get("predicate")}
                elif kind == SPDX_TYPE and "SBOM" not in values:
                    values["SBOM"] = {"SPDX": json.loads(fetch_blob(layer["digest"])).get("predicate")}
        per_platform[key] = values
    for key in ("Image", "Provenance", "SBOM"):
        present = {platform: values[key] for platform, values in per_platform.items() if key in values}
        if len(per_platform) == 1:
            fields[key] = next(iter(present.values()), None)
        elif present:
            fields[key] = present
    return fields


def _inspect(args: argparse.Namespace) -> int:
    from builder.oci.config import decode
    from builder.refs import parse_ref
    from builder.registry.client import RegistryClient
    from builder.registry.repository import Repository

    ref = parse_ref(args.name)
    with RegistryClient(ref.domain) as client:
        repo = Repository(client, ref.path)
        manifest = repo.get_manifest(ref.digest or ref.tag or "latest")
        document = decode(manifest.data, f"manifest {ref}")
        if args.raw:
            print(json.dumps(document, indent=2, ensure_ascii=False))
            return 0
        if args.format:

            def fetch_blob(digest: str) -> bytes:
                from builder.registry.assemble import read_document_blob

                return read_document_blob(repo, digest, f"blob {digest} of {ref}")

            print(render(args.format, template_fields(repo, args.name, document, fetch_blob)))
            return 0
        media_type = manifest.media_type or document.get("mediaType", "")
        print(summary(args.name, media_type, manifest.digest, document))
    return 0


def _create(args: argparse.Namespace) -> int:
    import sys

    from builder.registry.assemble import create
    from builder.store import Store

    with Store.open(args.root) as store:
        data, digest = create(store, args.tag, args.sources, append=args.append, dry_run=args.dry_run)
    if args.dry_run:
        sys.stdout.write(data.decode() + "\n")
    else:
        for tag in args.tag:
            print(f"pushed index {tag}@{digest}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    return _create(args) if args.imagetools_command == "create" else _inspect(args)
