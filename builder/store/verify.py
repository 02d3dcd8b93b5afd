"""`Store.verify`: a full consistency check of blobs, manifests, tags and layer directories."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from builder.store import digest as dg
from builder.store.blobs import hash_file

if TYPE_CHECKING:
    from builder.store.content import ContentStore

#: Blobs up to this size are also parsed, in case they are manifests; layers are far larger in practice.
_MANIFEST_MAX = 4 << 20


def verify(store: ContentStore) -> list[str]:
    """Check the whole store; returns one readable line per problem (empty if it is sound).

    Finds blobs whose content does not match their name, stray files among blobs and layers, tags pointing
    at missing manifests, and manifests (any blob that parses as an image manifest or index: a JSON object
    with ``schemaVersion`` and ``config``/``layers``/``manifests``) referencing blobs that are missing or
    have another size. An index is only reported when none of its manifests is present: a store normally
    holds just the platforms it pulled. Every blob recorded as a layer's compressed form must decompress to
    that layer's diff_id, and every layer whose blob the store makes on demand (its tar,
    `builder.store.derived`) must still make it. Reports, never repairs; reads every blob once,
    decompresses layer blobs and archives those layers.
    """
    problems: list[str] = []
    present: dict[str, int] = {}
    manifests: dict[str, dict] = {}
    corrupted: set[str] = set()  # reported once as corrupted, not again by each referrer
    blobs_dir = store.root / "blobs" / dg.ALGORITHM
    for entry in sorted(os.scandir(blobs_dir), key=lambda e: e.name):
        rel = f"blobs/{dg.ALGORITHM}/{entry.name}"
        if not dg.is_hex(entry.name) or not entry.is_file(follow_symlinks=False):
            problems.append(f"unexpected entry {rel}")
            continue
        digest = f"{dg.ALGORITHM}:{entry.name}"
        actual, size, doc = _read(Path(entry.path))
        if actual != digest:
            problems.append(f"blob {digest} is corrupted: its content hashes to {actual}")
            corrupted.add(digest)
            continue
        present[digest] = size
        if doc is not None:
            manifests[digest] = doc
    problems.extend(_check_layer_tars(store, present, corrupted))
    for digest, doc in manifests.items():
        problems.extend(_check_manifest(digest, doc, present, corrupted))
    for ref, digest in store.tags().items():
        if digest in corrupted:
            continue
        if digest not in present:
            problems.append(f"tag {ref} points at missing manifest {digest}")
        elif digest not in manifests:
            problems.append(f"tag {ref} points at {digest}, which is not an image manifest or index")
    layers_dir = store.root / "layers" / dg.ALGORITHM
    for entry in sorted(os.scandir(layers_dir), key=lambda e: e.name):
        if not dg.is_hex(entry.name) or not entry.is_dir(follow_symlinks=False):
            problems.append(f"unexpected entry layers/{dg.ALGORITHM}/{entry.name}")
    problems.extend(_check_layer_blobs(store, present, corrupted))
    return problems


def _check_layer_tars(store: ContentStore, present: dict[str, int], corrupted: set[str]) -> list[str]:
    """Every layer whose blob is its tar made on demand must make that tar (hash to its diff_id, with the
    recorded size); those that do count as present blobs, those that do not as corrupted ones."""
    from builder.layer import LayerError, hash_layer

    problems = []
    for diff_id in store.layers():
        form = store.layer_tar_form(diff_id)
        if form is None or diff_id in present:
            continue
        try:
            info = hash_layer(store.layer_path(diff_id), clamp_mtime=form.clamp_mtime)
            actual = info.diff_id
        except LayerError as exc:
            actual = f"nothing ({exc.message})"
        if actual != diff_id:
            problems.append(f"layer {diff_id} no longer makes its own tar: it gives {actual}")
            corrupted.add(diff_id)
        elif info.size != form.size:
            problems.append(f"layer {diff_id} makes a tar of {info.size} bytes, recorded as {form.size}")
            corrupted.add(diff_id)
        else:
            present[diff_id] = form.size
    return problems


def _check_layer_blobs(store: ContentStore, present: dict[str, int], corrupted: set[str]) -> list[str]:
    """Every blob recorded as a compressed form of a layer must decompress to that layer's diff_id (a blob
    that names another layer would be pushed and exported as it)."""
    from builder.layer.errors import LayerError
    from builder.layer.identity import diff_id_of

    problems = []
    for diff_id in store.layers():
        for record in store.layer_blobs(diff_id):
            digest = record.get("digest")
            if not isinstance(digest, str) or digest not in present or digest in corrupted:
                continue
            try:
                with open(store.root / "blobs" / dg.ALGORITHM / dg.hex_of(digest), "rb") as stream:
                    actual = diff_id_of(stream)
            except LayerError as exc:
                actual = f"nothing ({exc.message})"
            if actual != diff_id:
                problems.append(
                    f"blob {digest} is recorded as layer {diff_id}, but it decompresses to {actual}"
                )
            elif record.get("size") != present[digest]:
                problems.append(f"blob {digest} of layer {diff_id} is recorded with size {record.get('size')}")
    return problems


def _read(path: Path) -> tuple[str, int, dict | None]:
    """Digest and size of a blob file, and its JSON if it is a small manifest-like document."""
    if path.stat().st_size > _MANIFEST_MAX:
        digest, size = hash_file(path)
        return digest, size, None
    data = path.read_bytes()
    digest = f"{dg.ALGORITHM}:{hashlib.sha256(data).hexdigest()}"
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):  # any bytes may be a blob, even 100,000 ``[``
        return digest, len(data), None
    if isinstance(doc, dict) and "schemaVersion" in doc and ({"config", "layers", "manifests"} & doc.keys()):
        return digest, len(data), doc
    return digest, len(data), None


def _descriptors(doc: dict, key: str) -> list[dict]:
    value = doc.get(key)
    if key == "config":
        return [value] if isinstance(value, dict) else []
    return [d for d in value if isinstance(d, dict)] if isinstance(value, list) else []


def _check_manifest(digest: str, doc: dict, present: dict[str, int], corrupted: set[str]) -> list[str]:
    problems = []
    for key, what in (("config", "config"), ("layers", "layer"), ("manifests", "manifest")):
        descs = _descriptors(doc, key)
        missing = []
        for desc in descs:
            ref = desc.get("digest")
            if not isinstance(ref, str):
                problems.append(f"manifest {digest} has a {what} descriptor without a digest")
            elif ref in corrupted:
                continue
            elif ref not in present:
                missing.append(ref)
            elif isinstance(desc.get("size"), int) and desc["size"] != present[ref]:
                problems.append(
                    f"manifest {digest} gives {what} {ref} size {desc['size']}, the blob has {present[ref]}"
                )
        if key == "manifests" and len(missing) < len(descs):
            continue
        problems.extend(f"manifest {digest} references missing {what} blob {ref}" for ref in missing)
    return problems
