"""Push an image from the store to a registry.

Every blob (layers and config) is made present in the destination repository — skipped when a HEAD finds
it, mounted from another repository of the same registry known to hold it (`builder.registry.sources`),
else uploaded, in parallel — and then the manifest is PUT, byte for byte as stored, so its digest is the
image's ``Digest`` in ``pybuild inspect``. A destination with a tag is PUT by tag; one given only by digest
(``name@sha256:…``, which must be the image's own) is PUT by digest.
"""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from builder.errors import BuildError, UsageError
from builder.oci import media
from builder.oci.config import decode
from builder.oci.image import Image, resolve
from builder.oci.index import ImageIndex
from builder.refs import ImageRef, parse_ref
from builder.registry import sources
from builder.registry.client import RegistryClient
from builder.registry.options import DEFAULT_REGISTRY, RegistryOptions
from builder.registry.progress import Transfers
from builder.registry.repository import DEFAULT_CHUNK_SIZE, Repository
from builder.reshape import packed

DEFAULT_WORKERS = 4
_NOTES = {"exists": "layer already exists", "mounted": "mounted", "uploaded": "pushed"}


@dataclass(frozen=True)
class PushResult:
    """The pushed reference, the manifest digest and size, and per blob how it got there (``exists``,
    ``mounted`` or ``uploaded``)."""

    ref: ImageRef
    digest: str
    size: int
    blobs: dict[str, str] = field(default_factory=dict)


def push_image(
    store,
    source: str | ImageRef | Image,
    dest: str | ImageRef | None = None,
    *,
    client: RegistryClient | None = None,
    registry: RegistryOptions = DEFAULT_REGISTRY,
    progress: Transfers | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    workers: int = DEFAULT_WORKERS,
) -> PushResult:
    """Push the store's image ``source`` to ``dest`` (default: ``source`` itself as a reference). A name that
    points at a multi-platform index pushes the whole index (`push_index`).

    Raises `ImageNotFound` for an unknown source, `UsageError` for a destination that cannot name it, and
    `RegistryError` (naming the registry) when the registry refuses.
    """
    if not isinstance(source, Image):
        from builder.oci.index import find_index

        index = find_index(store, source)
        if index is not None:
            target = source if dest is None else dest
            result = push_index(
                store,
                index,
                target,
                client=client,
                registry=registry,
                progress=progress,
                chunk_size=chunk_size,
                workers=workers,
            )
            _follow(store, _tag_key(source), index.digest, result.digest)
            return result
    image, tag_key = (source, None) if isinstance(source, Image) else resolve(store, source)
    if dest is None:
        if isinstance(source, Image):
            raise UsageError("push: name the destination of an image given by value")
        if tag_key is None and "@" not in str(source):  # an ID names no repository to push to
            raise UsageError(
                f"push: {source} is an image ID, which names no repository",
                hint=f"name the destination: pybuild push {source} REGISTRY/NAME[:TAG]",
            )
        dest = source
    ref = _destination(dest)
    # layers kept only unpacked go out compressed: the image is pushed as that manifest, under its digest
    packing = packed(store, image)
    _check_pin(ref, image.manifest_digest, packing.manifest_digest, "manifest")
    _follow(store, tag_key, image.manifest_digest, packing.manifest_digest)
    image = packing
    progress = progress or Transfers("quiet")
    own_client = client is None
    client = client or RegistryClient(ref.domain, options=registry)
    try:
        repo = Repository(client, ref.path)
        blobs = [(layer["digest"], layer["size"]) for layer in image.layers]
        blobs.append((image.config_digest, image.manifest["config"]["size"]))
        for digest, _size in blobs:
            if not store.has_blob(digest):
                raise BuildError(f"push: blob {digest} of {ref} is not in the store (was it removed?)")
        outcomes = _push_blobs(store, repo, dict(blobs), progress, chunk_size, workers)
        manifest_bytes = store.read_blob(image.manifest_digest)
        media_type = decode(manifest_bytes, "manifest").get("mediaType") or media.OCI_MANIFEST
        digest = repo.put_manifest(ref.tag or image.manifest_digest, manifest_bytes, media_type)
        return PushResult(ref, digest, len(manifest_bytes), outcomes)
    finally:
        if own_client:
            client.close()


def _check_pin(ref: ImageRef, stored: str, sent: str, what: str) -> None:
    """A destination pinned by digest must name ``sent``, the digest the image (its ``what``: manifest or
    index) goes out as; naming ``stored``, the store's own form with layers kept unpacked, gets a hint."""
    if ref.digest is None or ref.digest == sent:
        return
    hint = (
        f"it goes out with its layers compressed, as {sent}: name that or a tag"
        if ref.digest == stored
        else None
    )
    raise UsageError(f"push: {ref} names digest {ref.digest}, but the image's {what} is {sent}", hint=hint)


def _follow(store, tag_key: str | None, old: str, new: str) -> None:
    """Point the source's tag at the image as pushed (the same image ID, its layers compressed), as long as
    it still names the image as it was: what the name denotes locally is then what the registry holds."""
    if tag_key is not None and old != new and store.get_tag(tag_key) == old:
        store.set_tag(tag_key, new)


def _tag_key(source: str | ImageRef) -> str | None:
    """The tag a user's name for a stored image is, or None (an ID, a digest)."""
    if isinstance(source, str) and source.startswith("sha256:"):
        return None
    try:
        ref = source if isinstance(source, ImageRef) else parse_ref(source)
        return None if ref.digest is not None else ref.tag_key
    except UsageError:
        return None


def _destination(dest: str | ImageRef) -> ImageRef:
    """``dest`` as a reference; UsageError saying what a destination looks like if it is not one."""
    try:
        return dest if isinstance(dest, ImageRef) else parse_ref(dest)
    except UsageError:
        raise UsageError(
            f"push: {dest} is not a repository name; give the destination, e.g. host/name:tag"
        ) from None


def push_index(
    store,
    index: ImageIndex,
    dest: str | ImageRef,
    *,
    client: RegistryClient | None = None,
    registry: RegistryOptions = DEFAULT_REGISTRY,
    progress: Transfers | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    workers: int = DEFAULT_WORKERS,
) -> PushResult:
    """Push a multi-platform image: each platform's image by its manifest digest, then the index, byte for
    byte as stored (once its layers kept only unpacked are compressed: `builder.reshape.packed`), at
    ``dest``'s tag (or its digest, which must be the index's). Every manifest the index
    names must be in the store: a registry refuses an index naming manifests it does not have."""
    ref = _destination(dest)
    # layers kept only unpacked go out compressed: the index is pushed as the one naming those manifests
    packing = packed(store, index)
    _check_pin(ref, index.digest, packing.digest, "index")
    index = packing
    if len(index.images) + len(index.attestations) != len(index.document["manifests"]):
        raise BuildError(f"push: the store lacks some of the images index {index.digest} names")
    own_client = client is None
    client = client or RegistryClient(ref.domain, options=registry)
    try:
        blobs: dict[str, str] = {}
        for image in index.images:
            by_digest = ImageRef(ref.domain, ref.path, None, image.manifest_digest)
            pushed = push_image(
                store,
                image,
                by_digest,
                client=client,
                progress=progress,
                chunk_size=chunk_size,
                workers=workers,
            )
            blobs.update(pushed.blobs)
        for entry in index.attestations:
            blobs.update(_push_attestation(store, client, ref, entry, progress, chunk_size, workers))
        data = store.read_blob(index.digest)
        kind = decode(data, "index").get("mediaType") or media.OCI_INDEX
        digest = Repository(client, ref.path).put_manifest(ref.tag or index.digest, data, kind)
        return PushResult(ref, digest, len(data), blobs)
    finally:
        if own_client:
            client.close()


def _push_attestation(
    store, client: RegistryClient, ref: ImageRef, entry: dict, progress, chunk_size: int, workers: int
) -> dict[str, str]:
    """Push an attestation manifest of an index (its config and statement blobs, then the manifest by
    digest); returns how each blob got there."""
    from builder.attest.manifests import manifest_blobs

    repo = Repository(client, ref.path)
    data = store.read_blob(entry["digest"])
    blobs = dict(manifest_blobs(decode(data, "attestation manifest")))
    for digest in blobs:
        if not store.has_blob(digest):
            raise BuildError(f"push: blob {digest} of attestation {entry['digest']} is not in the store")
    outcomes = _push_blobs(store, repo, blobs, progress or Transfers("quiet"), chunk_size, workers)
    repo.put_manifest(entry["digest"], data, entry.get("mediaType") or media.OCI_MANIFEST)
    return outcomes


def _push_blobs(
    store, repo: Repository, blobs: dict[str, int], progress: Transfers, chunk_size: int, workers: int
):
    domain = repo.client.domain

    def one(digest: str, size: int) -> str:
        task = progress.task(digest, size, "pushing")
        how = repo.push_blob(
            store,
            digest,
            size,
            mount_from=sources.known_sources(store, digest, domain),
            chunk_size=chunk_size,
            progress=task.update,
        )
        sources.remember(store, digest, domain, repo.path)
        note = _NOTES[how]
        task.done(note)
        return how

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(blobs)))) as pool:
        futures = {digest: pool.submit(one, digest, size) for digest, size in blobs.items()}
        _done, pending = wait(futures.values(), return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in futures.values():
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()
        return {digest: future.result() for digest, future in futures.items()}
