"""Pull an image from a registry into the store, and `ensure_image` for FROM (``--pull=always|missing|never``).

A pull reads the manifest at the reference (an index or manifest list gives the entry for the wanted
platform, the host's by default), then the config, then the layers in parallel: each layer blob is streamed
into the store and verified, unpacked into the store's unpacked-layer form (`builder.layer.apply_layer`) and
checked against the config's ``rootfs.diff_ids``. Only when every layer is in place are the manifest (and the
index) stored and the tag set, so a tag never names an image with missing content; an interrupted pull
keeps the blobs it completed, and the next pull reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from builder.errors import UsageError
from builder.oci import media
from builder.oci.config import Platform, decode, diff_ids, parse_config
from builder.oci.image import Image, ImageNotFound, load_image, read_image
from builder.oci.load import unpack_stored_layer
from builder.oci.manifest import manifest_kind, parse_index, parse_manifest
from builder.oci.schemas import MAX_DOCUMENT
from builder.refs import ImageRef, parse_ref
from builder.registry.errors import RegistryError
from builder.registry.options import DEFAULT_REGISTRY, RegistryOptions
from builder.registry.progress import Transfers

if TYPE_CHECKING:
    # the HTTP client (requests, urllib3) costs ~60 ms to import: a FROM whose image is in the store needs
    # none of it, so it is imported when a pull actually starts
    from builder.registry.client import RegistryClient
    from builder.registry.repository import Manifest, Repository

PULL_POLICIES = ("always", "missing", "never")
DEFAULT_WORKERS = 4
_READ = 1 << 20


@dataclass(frozen=True)
class PullResult:
    """What a pull did: the image (its platform's manifest), the digest the reference named (an index's
    when it named one), the tag key set (None for a digest reference) and how many blobs were fetched."""

    image: Image
    digest: str
    tag: str | None
    downloaded: int


def _as_ref(ref: str | ImageRef) -> ImageRef:
    return ref if isinstance(ref, ImageRef) else parse_ref(ref)


def pull_image(
    store,
    ref: str | ImageRef,
    *,
    platform: Platform | None = None,
    client: RegistryClient | None = None,
    registry: RegistryOptions = DEFAULT_REGISTRY,
    progress: Transfers | None = None,
    workers: int = DEFAULT_WORKERS,
) -> PullResult:
    """Pull ``ref`` into ``store`` (see the module docstring). ``client`` defaults to one for the reference's
    registry with the user's credentials and ``registry``'s options. Raises `RegistryError` (naming the
    registry) or `BuildError`."""
    from builder.registry import sources
    from builder.registry.client import RegistryClient
    from builder.registry.repository import Repository

    ref = _as_ref(ref)
    progress = progress or Transfers("quiet")
    own_client = client is None
    client = client or RegistryClient(ref.domain, options=registry)
    try:
        repo = Repository(client, ref.path)
        top = repo.get_manifest(ref.digest or ref.tag or "latest")
        manifest, index = _select(repo, ref, top, platform)
        doc = parse_manifest(manifest.data, f"manifest {repo}@{manifest.digest}")
        config_desc = doc["config"]
        if config_desc["size"] > MAX_DOCUMENT:
            raise RegistryError(
                f"{ref} at {client.domain}: config {config_desc['digest']} is larger than "
                f"{MAX_DOCUMENT >> 20} MiB; refusing it"
            )
        downloaded = 0 if store.has_blob(config_desc["digest"]) else 1
        repo.fetch_blob(store, config_desc["digest"], config_desc["size"])
        config = parse_config(store.read_blob(config_desc["digest"]), f"config {config_desc['digest']}")
        _check_platform(config, platform, ref, client.domain, explicit=index is None)
        ids = diff_ids(config)
        if len(ids) != len(doc["layers"]):
            raise RegistryError(
                f"{ref} at {client.domain}: the manifest has {len(doc['layers'])} layers "
                f"but the config names {len(ids)}"
            )
        downloaded += _fetch_layers(store, repo, list(zip(doc["layers"], ids, strict=True)), progress, workers)
        if index is not None:
            store.put_blob(index.data, expected=index.digest)
        store.put_blob(manifest.data, expected=manifest.digest)
        for blob in [config_desc["digest"], *(layer["digest"] for layer in doc["layers"])]:
            sources.remember(store, blob, client.domain, ref.path)
        tag = None
        if ref.tag is not None:
            tag = ref.tag_key
            store.set_tag(tag, manifest.digest)
        return PullResult(read_image(store, manifest.digest), top.digest, tag, downloaded)
    finally:
        if own_client:
            client.close()


def _select(
    repo: Repository, ref: ImageRef, top: Manifest, platform: Platform | None
) -> tuple[Manifest, Manifest | None]:
    """(the image manifest, the index it came from or None)."""
    kind = manifest_kind(decode(top.data, f"manifest {repo}"), f"manifest {repo}@{top.digest}")
    if kind in media.MANIFESTS:
        return top, None
    if kind not in media.INDEXES:
        raise RegistryError(f"{ref} at {repo.client.domain} is not an image (media type {kind})")
    wanted = platform or Platform.host()
    index = parse_index(top.data, f"index {repo}@{top.digest}")
    offered = []
    for entry in index["manifests"]:
        entry_platform = entry.get("platform") or {}
        offered.append(
            "/".join(filter(None, (entry_platform.get(k) for k in ("os", "architecture", "variant"))))
        )
        if entry.get("mediaType", media.OCI_MANIFEST) in media.MANIFESTS and wanted.matches(entry_platform):
            return repo.get_manifest(entry["digest"]), top
    raise RegistryError(
        f"{ref} at {repo.client.domain} has no image for platform {wanted} "
        f"(it offers: {', '.join(o for o in offered if o) or 'none'})"
    )


def _check_platform(
    config: dict, platform: Platform | None, ref: ImageRef, domain: str, explicit: bool
) -> None:
    if platform is not None and explicit and not platform.matches(config):
        found = "/".join(filter(None, (config.get("os"), config.get("architecture"), config.get("variant"))))
        raise RegistryError(f"{ref} at {domain} is for platform {found}, not {platform}")


def _fetch_layers(
    store, repo: Repository, layers: list[tuple[dict, str]], progress: Transfers, workers: int
) -> int:
    """Download and unpack the layers in parallel; returns how many blobs were downloaded."""
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    if not layers:
        return 0
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(layers)))) as pool:
        futures = [
            pool.submit(_fetch_layer, store, repo, layer, diff_id, progress) for layer, diff_id in layers
        ]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()
        return sum(future.result() for future in futures)


def _fetch_layer(store, repo: Repository, layer: dict, diff_id: str, progress: Transfers) -> int:
    digest, size = layer["digest"], layer["size"]
    if store.has_blob(digest) and store.has_layer(diff_id):
        repo.fetch_blob(store, digest, size)  # nothing to fetch: checks the size the manifest states
        progress.note(digest, "already exists")
        unpack_stored_layer(store, layer, diff_id)  # present: only records the blob as its compressed form
        return 0
    fetched = 0 if store.has_blob(digest) else 1
    task = progress.task(digest, size, "downloading")
    repo.fetch_blob(store, digest, size, task.update)
    unpack_stored_layer(store, layer, diff_id)
    task.done("pull complete")
    return fetched


def ensure_image(
    store,
    ref: str | ImageRef,
    *,
    pull: str = "missing",
    platform: Platform | None = None,
    progress: Transfers | None = None,
    client: RegistryClient | None = None,
    registry: RegistryOptions = DEFAULT_REGISTRY,
) -> Image:
    """The image ``ref`` names, pulled first as the policy says (what FROM calls):

    * ``missing``: use the store's image if it has one (for ``platform``, when given), else pull;
    * ``always``: pull (only blobs the store lacks are transferred), then use it;
    * ``never``: use the store's image; `ImageNotFound` if absent.
    """
    if pull not in PULL_POLICIES:
        raise UsageError(f"invalid pull policy {pull!r}: expected one of {', '.join(PULL_POLICIES)}")
    if pull != "always":
        try:
            image = load_image(store, ref, platform=platform)
        except ImageNotFound:
            if pull == "never":
                raise
        else:
            if platform is None or platform.matches(image.config):
                return image
            if pull == "never":
                raise ImageNotFound(f"image {ref} in the store is for {image.platform}, not {platform}")
    return pull_image(store, ref, platform=platform, progress=progress, client=client, registry=registry).image
