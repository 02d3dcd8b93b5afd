"""One index in a registry from images already pushed, maybe from different machines: ``pybuild imagetools
create``, as ``docker buildx imagetools create`` makes it.

Each source is an image manifest (its entry gets the platform its config states) or an index (all its
entries, attestation manifests included, in order). Entries are kept in the sources' order, a digest listed
twice once. The index is an OCI index unless every source is a Docker schema2 document (then a Docker
manifest list), serialised as buildx does (two-space indent). Before the index is PUT at each destination
tag, every manifest it names — and the blobs those name — is made present in the destination repository:
mounted from the source repository when both are on one registry, else copied through the local store.
Digests do not change, so the attestation manifests' references stay valid.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from builder.errors import UsageError
from builder.oci import media
from builder.oci.config import decode
from builder.oci.manifest import manifest_kind
from builder.refs import ImageRef, parse_ref
from builder.registry.client import RegistryClient
from builder.registry.errors import RegistryError
from builder.registry.repository import Manifest, Repository

#: Go's ``ocispec.Descriptor`` and ``ocispec.Platform`` field order, which buildx's JSON follows.
_DESCRIPTOR_KEYS = ("mediaType", "digest", "size", "urls", "annotations", "data", "platform", "artifactType")
_PLATFORM_KEYS = ("architecture", "os", "os.version", "os.features", "variant")


@dataclass
class Source:
    """A source of the index: its reference, the document it resolved to and its entries."""

    ref: ImageRef
    manifest: Manifest
    entries: list[dict] = field(default_factory=list)


def go_order(desc: dict) -> dict:
    """A descriptor with its keys in Go's field order (unknown keys last), as buildx writes it."""
    ordered = {key: desc[key] for key in _DESCRIPTOR_KEYS if key in desc}
    if "platform" in ordered:
        platform = ordered["platform"]
        ordered["platform"] = {k: platform[k] for k in _PLATFORM_KEYS if k in platform} | platform
    return ordered | desc


def index_bytes(document: dict) -> bytes:
    """An index as buildx serialises it: indented by two spaces."""
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def _reference(ref: ImageRef) -> str:
    return ref.digest or ref.tag or "latest"


def resolve_source(client: RegistryClient, ref: ImageRef) -> Source:
    """The entries ``ref`` contributes: an index's entries, or one entry for an image manifest with its
    config's platform. Raises `RegistryError` when the registry lacks it."""
    repo = Repository(client, ref.path)
    manifest = repo.get_manifest(_reference(ref))
    document = decode(manifest.data, f"manifest {ref}")
    kind = manifest_kind(document, f"manifest {ref}")
    if kind in media.INDEXES:
        return Source(ref, manifest, [go_order(entry) for entry in document.get("manifests", [])])
    if kind not in media.MANIFESTS:
        raise RegistryError(f"{ref}: not an image or an index (media type {kind})")
    config = document["config"]
    config_doc = decode(read_document_blob(repo, config["digest"], f"config of {ref}"), f"config of {ref}")
    platform = {"architecture": config_doc.get("architecture", ""), "os": config_doc.get("os", "")}
    for key in ("os.version", "variant"):
        if config_doc.get(key):
            platform[key] = config_doc[key]
    entry = {"mediaType": kind, "digest": manifest.digest, "size": len(manifest.data), "platform": platform}
    return Source(ref, manifest, [go_order(entry)])


def read_document_blob(repo: Repository, digest: str, what: str) -> bytes:
    """A small JSON blob (a config, an in-toto statement) of ``repo``, verified against ``digest``; reading
    stops at 4 MiB (a document, never a layer), so a registry cannot fill memory."""
    from builder.oci.schemas import MAX_DOCUMENT
    from builder.registry.repository import _read_limited

    response = repo.client.request(
        "GET", f"/v2/{repo.path}/blobs/{digest}", scopes=[repo.pull_scope], stream=True
    )
    with response:
        repo.client.expect(response, (200,), what)
        data = _read_limited(response, MAX_DOCUMENT, what)
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        raise RegistryError(f"{what} from {repo} does not match its digest {digest}")
    return data


def merge(sources: list[Source], existing: Source | None = None) -> dict:
    """The index over the entries of ``existing`` (``--append``: the index at the destination) then each
    source's, a digest listed once."""
    entries, seen = [], set()
    everything = ([existing] if existing else []) + sources
    for source in everything:
        for entry in source.entries:
            if entry["digest"] not in seen:
                seen.add(entry["digest"])
                entries.append(entry)
    docker = all(
        manifest_kind(decode(s.manifest.data, "manifest"))
        in (media.DOCKER_MANIFEST, media.DOCKER_MANIFEST_LIST)
        for s in everything
    )
    kind = media.DOCKER_MANIFEST_LIST if docker else media.OCI_INDEX
    return {"schemaVersion": 2, "mediaType": kind, "manifests": entries}


def _copy_blob(store, source: Repository, dest: Repository, digest: str, size: int) -> None:
    if dest.blob_size(digest, push=True) is not None:
        return
    same_registry = source.client.domain == dest.client.domain
    if same_registry and dest.mount_blob(digest, source.path):
        return
    if not store.has_blob(digest):
        source.fetch_blob(store, digest, size)
    dest.push_blob(store, digest, size)


def copy_manifest(store, source: Repository, dest: Repository, entry: dict) -> None:
    """Make ``dest`` hold the manifest ``entry`` names (and, for a nested index, its manifests), with every
    blob it names, taken from ``source``."""
    manifest = source.get_manifest(entry["digest"])
    document = decode(manifest.data, f"manifest {source}@{entry['digest']}")
    kind = manifest.media_type or entry.get("mediaType") or manifest_kind(document)
    if kind in media.INDEXES:
        for child in document.get("manifests", []):
            copy_manifest(store, source, dest, child)
    else:
        for part in [document["config"], *document.get("layers", [])]:
            _copy_blob(store, source, dest, part["digest"], part["size"])
    dest.put_manifest(entry["digest"], manifest.data, kind)


def create(
    store,
    tags: list[str],
    sources: list[str],
    *,
    append: bool = False,
    dry_run: bool = False,
    client_for=RegistryClient,
) -> tuple[bytes, str]:
    """Make the index of ``sources`` and (unless ``dry_run``) push it to each of ``tags``, copying what the
    destination repositories lack; returns the index bytes and digest. ``client_for(domain)`` opens a
    registry client. Raises `UsageError` for bad references, `RegistryError` when a registry refuses."""
    if not tags:
        raise UsageError("imagetools create: at least one -t/--tag is required")
    dests = [parse_ref(tag) for tag in tags]
    for dest in dests:
        if dest.digest is not None:
            raise UsageError(f"imagetools create: {dest} names a digest; give a tag")
    refs = [parse_ref(text) for text in sources]
    if not refs and not append:
        raise UsageError("imagetools create: no source image given")
    clients: dict[str, RegistryClient] = {}

    def client(domain: str) -> RegistryClient:
        if domain not in clients:
            clients[domain] = client_for(domain)
        return clients[domain]

    try:
        resolved = [resolve_source(client(ref.domain), ref) for ref in refs]
        existing = resolve_source(client(dests[0].domain), dests[0]) if append else None
        document = merge(resolved, existing)
        data = index_bytes(document)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if dry_run:
            return data, digest
        for dest in dests:
            target = Repository(client(dest.domain), dest.path)
            for source in ([existing] if existing else []) + resolved:
                origin = Repository(client(source.ref.domain), source.ref.path)
                for entry in source.entries:
                    if origin.client.domain != target.client.domain or origin.path != target.path:
                        copy_manifest(store, origin, target, entry)
            target.put_manifest(dest.tag or "latest", data, document["mediaType"])
        return data, digest
    finally:
        for opened in clients.values():
            opened.close()
