"""Write a build's cache records to a ``--cache-to`` target: a registry repository or an OCI layout directory.

Both targets get the same artifact (`builder.sharedcache.artifact`). The blobs go first, the manifest last, so a
reader never finds a manifest whose blobs are missing: in a registry the manifest PUT by tag comes after every
blob upload; in a directory every blob is renamed into place before ``index.json`` is replaced by one rename.
A layer this build took from a remote cache without fetching it is mounted from its repository when the
target is on the same registry, else fetched first.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from builder.errors import BuildError
from builder.oci import media
from builder.oci.manifest import descriptor, digest_of
from builder.registry.options import DEFAULT_REGISTRY, RegistryOptions
from builder.sharedcache import artifact
from builder.sharedcache.layerform import shape_records
from builder.sharedcache.remote import RegistryCache, blob_file, copy_blob
from builder.sharedcache.spec import CacheSpec

_WORKERS = 4


def export_cache(
    store,
    spec: CacheSpec,
    records: dict[str, dict],
    shared,
    *,
    progress: str = "quiet",
    registry: RegistryOptions = DEFAULT_REGISTRY,
    compression: str = "gzip",
) -> str:
    """Export ``records`` (key → ``{"parts", "result"}``) to ``spec``; returns the document's digest.
    ``shared`` (a `SharedCache`) supplies blobs of layers that are still only remote. Raises `BuildError`.
    The layers take the form ``spec`` asks for (`builder.sharedcache.layerform`; ``compression``, the build's
    ``--compression``, for a layer the store keeps only unpacked) before anything is written."""
    records = shape_records(store, spec, records, lambda digest: _need_blob(store, shared, digest), compression)
    index = artifact.encode_index(records)
    config = descriptor(artifact.CONFIG_MEDIA_TYPE, digest_of(index), len(index))
    document = artifact.build_artifact(config, records, image_manifest=spec.image_manifest)
    manifest = artifact.encode_document(document)
    layers = document["layers"] if spec.image_manifest else document["manifests"][:-1]
    if spec.type == "registry":
        return _to_registry(store, spec, index, (manifest, document["mediaType"]), layers, shared, registry)
    return _to_local(store, Path(spec.location), index, (manifest, document["mediaType"]), layers, shared)


def _need_blob(store, shared, digest: str) -> None:
    if not store.has_blob(digest) and not shared.fetch_blob(digest):
        raise BuildError(f"cache export: layer blob {digest} is neither in the store nor fetchable")


# -- registry ------------------------------------------------------------------------------------------------


def _to_registry(
    store,
    spec: CacheSpec,
    index: bytes,
    document: tuple[bytes, str],
    layers: list[dict],
    shared,
    registry: RegistryOptions,
) -> str:
    from builder.refs import parse_ref
    from builder.registry import sources
    from builder.registry.client import RegistryClient
    from builder.registry.repository import Repository

    ref = parse_ref(spec.location)
    with RegistryClient(ref.domain, options=registry) as client:
        repo = Repository(client, ref.path)

        def push(layer: dict) -> None:
            digest, size = layer["digest"], layer["size"]
            if not store.has_blob(digest):
                remote = shared.pending_source(digest)
                same_registry = isinstance(remote, RegistryCache) and remote.client.domain == client.domain
                if same_registry and (
                    repo.blob_size(digest, push=True) is not None or repo.mount_blob(digest, remote.repo.path)
                ):
                    return
                _need_blob(store, shared, digest)
            repo.push_blob(store, digest, size, mount_from=sources.known_sources(store, digest, client.domain))
            sources.remember(store, digest, client.domain, ref.path)

        if layers:
            with ThreadPoolExecutor(max_workers=min(_WORKERS, len(layers))) as pool:
                futures = [pool.submit(push, layer) for layer in layers]
            for future in futures:
                future.result()
        config_digest = store.put_blob(index)
        repo.push_blob(store, config_digest, len(index))
        return repo.put_manifest(ref.tag or "latest", *document)


# -- OCI layout directory ------------------------------------------------------------------------------------


def _to_local(store, root: Path, index: bytes, document: tuple[bytes, str], layers: list[dict], shared) -> str:
    manifest, kind = document  # the document's bytes and media type
    try:
        root.mkdir(parents=True, exist_ok=True)
        for layer in layers:
            _need_blob(store, shared, layer["digest"])
            copy_blob(store, layer["digest"], root)
        _write_blob(root, index)
        digest = _write_blob(root, manifest)
        _write_atomic(
            root / "oci-layout", json.dumps({"imageLayoutVersion": media.OCI_LAYOUT_VERSION}).encode()
        )
        entry = descriptor(kind, digest, len(manifest), annotations={media.ANNOTATION_REF_NAME: "latest"})
        document = {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": [entry]}
        _write_atomic(root / "index.json", json.dumps(document, indent=1).encode() + b"\n")
    except OSError as exc:
        raise BuildError(f"cache export to {root}: {exc.strerror or exc}") from None
    return digest


def _write_blob(root: Path, data: bytes) -> str:
    digest = digest_of(data)
    target = blob_file(root, digest)
    if not (target.is_file() and target.stat().st_size == len(data)):
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, data)
    return digest


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
