"""Garbage collection: what nothing refers to goes, what a tag or cache record reaches stays."""

from __future__ import annotations

import hashlib
import json

# Each layer's blob is stored uncompressed, so its diff_id is the digest of the blob itself (verify checks it).
DIFF_KEPT = "sha256:" + hashlib.sha256(b"kept layer blob").hexdigest()
DIFF_CACHED = "sha256:" + hashlib.sha256(b"cached layer blob").hexdigest()
DIFF_ORPHAN = "sha256:" + hashlib.sha256(b"orphan layer blob").hexdigest()


def layer(store, diff_id, blob_data):
    staging = store.staging_dir()
    (staging / "f").write_text(diff_id)
    store.commit_layer(staging, diff_id)
    blob = store.put_blob(blob_data)
    store.record_layer_blob(diff_id, blob, len(blob_data), "application/vnd.oci.image.layer.v1.tar")
    return blob


def populate(store):
    kept_blob = layer(store, DIFF_KEPT, b"kept layer blob")
    cached_blob = layer(store, DIFF_CACHED, b"cached layer blob")
    orphan_blob = layer(store, DIFF_ORPHAN, b"orphan layer blob")
    config = store.put_blob(json.dumps({"rootfs": {"type": "layers", "diff_ids": [DIFF_KEPT]}}).encode())
    manifest = store.put_blob(
        json.dumps(
            {
                "schemaVersion": 2,
                "config": {"digest": config, "size": store.blob_size(config)},
                "layers": [{"digest": kept_blob, "size": 15}],
            }
        ).encode()
    )
    store.set_tag("app:1", manifest)
    store.cache_put("c" * 64, {"result": {"layer": DIFF_CACHED}})
    untagged = store.put_blob(b'{"schemaVersion": 2, "layers": []}')
    return {
        "kept": {kept_blob, config, manifest, cached_blob},
        "gone": {orphan_blob, untagged},
    }


def test_gc_removes_only_unreachable_content(store):
    blobs = populate(store)
    report = store.gc(grace_seconds=0)
    assert set(report.blobs) == blobs["gone"]
    assert report.layers == [DIFF_ORPHAN]
    assert report.blob_bytes == len(b"orphan layer blob") + len(b'{"schemaVersion": 2, "layers": []}')
    assert set(store.blobs()) == blobs["kept"]
    assert sorted(store.layers()) == sorted([DIFF_KEPT, DIFF_CACHED])
    assert store.layer_blobs(DIFF_ORPHAN) == []
    assert store.verify() == []


def test_gc_dry_run_and_grace_period_delete_nothing(store):
    populate(store)
    before = (store.blobs(), store.layers())
    assert store.gc(grace_seconds=0, dry_run=True).layers == [DIFF_ORPHAN]
    assert store.gc().blobs == []  # everything is younger than the default grace period
    assert (store.blobs(), store.layers()) == before


def test_removing_the_tag_frees_the_image(store):
    populate(store)
    store.remove_tag("app:1")
    store.gc(grace_seconds=0)
    assert store.layers() == [DIFF_CACHED]
    assert store.blobs() == [store.layer_blob(DIFF_CACHED)["digest"]]
