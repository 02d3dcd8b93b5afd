"""Cache sources to import from: read the index at build start, fetch one blob when asked.

`open_remote` never fails a build: a source that does not exist yet (the first run of a pipeline), cannot be
reached or holds something else gives a warning and no records, as buildx does. Blobs fetched later are
verified against their digest before the store keeps them (`RemoteCache.fetch_blob`).

A ``type=local`` directory is shared between jobs, so nothing in it is trusted: a digest is validated before
it names a file (`blob_file`), and only regular files of a bounded size are opened (`open_blob`), never a
FIFO or a device another job put there.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from builder.errors import BuildError
from builder.oci.manifest import ManifestError, digest_of
from builder.oci.schemas import load_json
from builder.registry.options import DEFAULT_REGISTRY, RegistryOptions
from builder.sharedcache import artifact
from builder.sharedcache.spec import CacheSpec
from builder.store.digest import hex_of

_READ = 1 << 20
#: The largest index.json and cache manifest read (a manifest names one config and the layers).
_MAX_DOCUMENT = 4 << 20
#: The most images of an index whose configs are read for an inline cache.
_MAX_PLATFORMS = 32


class RemoteCache:
    """An imported index: ``records`` (key → ``{"parts", "result"}``) and where its blobs come from."""

    def __init__(self, name: str, records: dict[str, dict]) -> None:
        self.name = name
        self.records = records

    def fetch_blob(self, store, desc: dict, progress: Callable[[int], None] | None = None) -> None:
        """Put the blob ``desc`` names into the store, verified; raises `BuildError` when it cannot."""
        raise NotImplementedError

    def available(self, desc: dict) -> bool:
        """A cheap check that the blob can be fetched at all (a missing file is a miss, not a restart)."""
        return True

    def close(self) -> None:
        pass


class RegistryCache(RemoteCache):
    """A cache artifact in a registry repository; keeps its client open for lazy fetches until `close`."""

    def __init__(self, name: str, records: dict[str, dict], repo, client) -> None:
        super().__init__(name, records)
        self.repo = repo
        self.client = client

    def fetch_blob(self, store, desc: dict, progress: Callable[[int], None] | None = None) -> None:
        from builder.registry import sources

        self.repo.fetch_blob(store, desc["digest"], desc["size"], progress)
        sources.remember(store, desc["digest"], self.client.domain, self.repo.path)

    def close(self) -> None:
        self.client.close()


class LocalCache(RemoteCache):
    """A cache artifact in an OCI layout directory (``type=local,src=DIR``)."""

    def __init__(self, name: str, records: dict[str, dict], root: Path) -> None:
        super().__init__(name, records)
        self.root = root

    def available(self, desc: dict) -> bool:
        try:
            info = blob_file(self.root, desc["digest"]).stat()
        except (OSError, BuildError):
            return False
        return stat.S_ISREG(info.st_mode) and info.st_size == desc["size"]

    def fetch_blob(self, store, desc: dict, progress: Callable[[int], None] | None = None) -> None:
        if store.has_blob(desc["digest"]):
            if store.blob_size(desc["digest"]) != desc["size"]:  # an image made from it would misstate it
                raise BuildError(
                    f"{self.name} gives blob {desc['digest']} a size it does not have: {desc['size']}"
                )
            return
        try:
            with (
                open_blob(self.root, desc["digest"], desc["size"]) as source,
                store.blob_writer(expected=desc["digest"], expected_size=desc["size"]) as writer,
            ):
                left = desc["size"] + 1  # one byte more shows a longer file, which the writer then refuses
                while left > 0 and (chunk := source.read(min(_READ, left))):
                    left -= len(chunk)
                    writer.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
                writer.commit()
        except OSError as exc:
            raise BuildError(f"cannot read blob {desc['digest']} of {self.name}: {exc.strerror}") from None


def blob_file(root: Path, digest: str) -> Path:
    """Where an OCI layout at ``root`` keeps ``digest``; raises `BuildError` (`InvalidDigest`) for a digest
    that is not ``sha256:<64 hex>``, so no digest read from elsewhere can name a path outside the layout."""
    return Path(root) / "blobs" / "sha256" / hex_of(digest)


def open_blob(root: Path, digest: str, limit: int):
    """Open ``digest``'s blob in the layout at ``root`` for reading; raises `BuildError` unless it is a regular
    file of at most ``limit`` bytes. The check comes before the open: opening a FIFO would block."""
    return _open_regular(blob_file(root, digest), limit, f"blob {digest} in {root}")


def _open_regular(path: Path, limit: int, what: str):
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise BuildError(f"{what} is not a regular file")
        if info.st_size > limit:
            raise BuildError(f"{what} is larger than expected ({info.st_size} > {limit} bytes)")
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise BuildError(f"cannot read {what}: {exc.strerror}") from None


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    with _open_regular(path, limit, what) as source:
        data = source.read(limit + 1)  # a file that grew since the check
    if len(data) > limit:
        raise BuildError(f"{what} is larger than expected")
    return data


def open_remote(
    spec: CacheSpec, store, warn: Callable[[str], None], registry: RegistryOptions = DEFAULT_REGISTRY
) -> RemoteCache | None:
    """Read the index of ``spec`` (a ``--cache-from``); None, after ``warn(text)``, when there is none."""
    try:
        if spec.type == "registry":
            return _open_registry(spec, store, registry)
        return _open_local(spec)
    except (BuildError, ValueError, OSError) as exc:
        reason = exc.message if isinstance(exc, BuildError) else str(exc)
        warn(f"warning: cache from {spec}: {reason}; building without it")
        return None


def _open_registry(spec: CacheSpec, store, registry: RegistryOptions) -> RegistryCache | None:
    from builder.refs import parse_ref
    from builder.registry import sources
    from builder.registry.client import RegistryClient
    from builder.registry.errors import NotFound
    from builder.registry.repository import Repository

    ref = parse_ref(spec.location)
    client = RegistryClient(ref.domain, options=registry)
    try:
        repo = Repository(client, ref.path)
        try:
            manifest = repo.get_manifest(ref.digest or ref.tag or "latest")
        except NotFound:
            raise BuildError(f"no cache at {ref}") from None
        try:
            config = artifact.parse_artifact(manifest.data, f"cache manifest {ref}")
        except artifact.NotACache:  # an image: its config may carry an inline cache
            records = _inline_records(repo, store, manifest.data, str(ref))
        else:
            repo.fetch_blob(store, config["digest"], config["size"])
            records = artifact.parse_index(store.read_blob(config["digest"]))
        # the artifact keeps its layers in this repository: a later push of one of them can mount it
        for digest in {rec["result"]["digest"] for rec in records.values()}:
            sources.remember(store, digest, client.domain, ref.path)
        return RegistryCache(str(ref), records, repo, client)
    except BaseException:
        client.close()
        raise


def _inline_records(repo, store, data: bytes, name: str) -> dict[str, dict]:
    """The inline cache records of the image (or of every platform image of the index) ``data`` at
    ``name``; raises `BuildError` when there are none. Attestation manifests (platform ``unknown/unknown``)
    and entries that are not image manifests are passed over."""
    from builder.oci.manifest import manifest_kind, parse_index, parse_manifest
    from builder.oci.media import INDEXES, MANIFESTS
    from builder.sharedcache.inline import MAX_CONFIG, records_from_image

    doc = load_json(data, f"manifest {name}")
    if isinstance(doc, dict) and manifest_kind(doc) in INDEXES:
        entries = [
            e
            for e in parse_index(data, f"index {name}")["manifests"]
            if e.get("mediaType") in MANIFESTS and (e.get("platform") or {}).get("os") != "unknown"
        ]
        manifests = []
        for entry in entries[:_MAX_PLATFORMS]:
            try:
                fetched = repo.get_manifest(entry["digest"]).data
                manifests.append(parse_manifest(fetched, f"manifest {name}@{entry['digest']}"))
            except ManifestError:
                continue
    else:
        manifests = [parse_manifest(data, f"manifest {name}")]
    found: list[dict[str, dict]] = []
    for manifest in manifests:
        config = manifest["config"]
        if config["size"] > MAX_CONFIG:
            continue
        repo.fetch_blob(store, config["digest"], config["size"])
        records = records_from_image(manifest, store.read_blob(config["digest"]))
        if records is not None:
            found.append(records)
    if not found:
        raise BuildError(f"{name} is an image without a pybuild cache (push it with --cache-to type=inline)")
    return {key: record for records in found for key, record in records.items()}


def _open_local(spec: CacheSpec) -> LocalCache:
    root = Path(spec.location)
    if not (root / "index.json").exists():
        raise BuildError(f"no cache in {root} (no index.json)")
    index = load_json(
        _read_limited(root / "index.json", _MAX_DOCUMENT, f"{root}/index.json"), f"{root}/index.json"
    )
    entries = index.get("manifests") if isinstance(index, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            continue
        try:
            data = _read_verified(root, entry["digest"], _MAX_DOCUMENT)
            config = artifact.parse_artifact(data, f"cache manifest in {root}")
        except (ManifestError, BuildError):
            continue
        records = artifact.parse_index(_read_verified(root, config["digest"], config["size"]))
        return LocalCache(str(root), records, root)
    raise BuildError(f"no pybuild cache in {root}/index.json")


def _read_verified(root: Path, digest: str, limit: int) -> bytes:
    data = _read_limited(blob_file(root, digest), limit, f"blob {digest} in {root}")
    if digest_of(data) != digest:
        raise BuildError(f"blob {digest} in {root} does not match its digest")
    return data


def copy_blob(store, digest: str, dest_root: Path) -> None:
    """Copy a stored blob into an OCI layout's ``blobs/sha256`` (temp file + rename; kept if present)."""
    target = blob_file(dest_root, digest)
    if target.is_file() and target.stat().st_size == store.blob_size(digest):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with store.open_blob(digest) as source, open(tmp, "wb") as out:
            shutil.copyfileobj(source, out, _READ)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
