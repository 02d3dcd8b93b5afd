"""Tags, the cache index, and `Store.verify`."""

from __future__ import annotations

import json
import os

import pytest

from builder.store import BlobNotFound, Store, StoreError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def image(store, layer_data: bytes = b"layer tar.gz") -> tuple[str, str, str]:
    """Store a config, a layer and a manifest; returns their digests."""
    config = store.put_blob(b'{"architecture": "amd64", "os": "linux"}')
    layer = store.put_blob(layer_data)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"digest": config, "size": store.blob_size(config)},
        "layers": [{"digest": layer, "size": store.blob_size(layer)}],
    }
    return store.put_blob(json.dumps(manifest).encode()), config, layer


def test_tags_set_get_replace_remove(store):
    first, _, _ = image(store, b"one")
    second, _, _ = image(store, b"two")
    assert store.get_tag("app:1") is None
    store.set_tag("app:1", first)
    store.set_tag("docker.io/library/app:latest", first)
    assert store.get_tag("app:1") == first
    store.set_tag("app:1", second)
    assert store.tags() == {"app:1": second, "docker.io/library/app:latest": first}
    assert Store.open(store.root).tags() == store.tags()
    assert store.remove_tag("app:1")
    assert not store.remove_tag("app:1")
    assert store.tags() == {"docker.io/library/app:latest": first}


def test_tag_must_point_at_a_stored_manifest(store):
    with pytest.raises(BlobNotFound):
        store.set_tag("app:1", "sha256:" + "1" * 64)
    assert store.tags() == {}


def test_damaged_tag_file_is_reported_not_silently_emptied(store):
    manifest, _, _ = image(store)
    store.set_tag("app:1", manifest)
    (store.root / "tags.json").write_text("{not json")
    with pytest.raises(StoreError, match="damaged"):
        store.tags()


def test_cache_index_round_trip(store):
    key = "0f" * 32
    assert store.cache_get(key) is None
    store.cache_put(key, {"layer": "sha256:" + "2" * 64, "parts": ["FROM x", "RUN y"]})
    assert store.cache_get(key) == {"layer": "sha256:" + "2" * 64, "parts": ["FROM x", "RUN y"]}
    store.cache_put(key, {"layer": None})
    assert store.cache_get(key) == {"layer": None}
    assert store.cache_keys() == [key]
    assert store.cache_remove(key)
    assert store.cache_get(key) is None


@pytest.mark.parametrize("key", ["../../etc", "ABCDEF0123456789", "abc", ""])
def test_cache_keys_must_be_hex(store, key):
    with pytest.raises(StoreError, match="invalid cache key"):
        store.cache_put(key, {})


def test_no_temp_files_left_by_record_updates(store):
    manifest, _, _ = image(store)
    for i in range(5):
        store.set_tag(f"app:{i}", manifest)
        store.cache_put(f"{i:032x}", {"i": i})
    assert [f for _, _, f in os.walk(store.root / "tmp") if f] == []


def test_verify_is_clean_for_a_sound_store(store):
    manifest, _, _ = image(store)
    store.set_tag("app:1", manifest)
    assert store.verify() == []


def test_verify_finds_a_corrupted_blob(store):
    _, config, _ = image(store)
    path = store.blob_path(config)
    os.chmod(path, 0o644)
    path.write_bytes(b'{"architecture": "arm64", "os": "linux"}')
    problems = store.verify()
    assert len(problems) == 1
    assert f"blob {config} is corrupted" in problems[0]


def test_verify_finds_manifests_referencing_missing_blobs(store):
    manifest, config, layer = image(store)
    store.set_tag("app:1", manifest)
    store.remove_blob(layer)
    store.remove_blob(config)
    assert sorted(store.verify()) == sorted(
        [
            f"manifest {manifest} references missing config blob {config}",
            f"manifest {manifest} references missing layer blob {layer}",
        ]
    )


def test_verify_finds_tags_pointing_at_missing_manifests(store):
    manifest, _, _ = image(store)
    store.set_tag("app:1", manifest)
    store.remove_blob(manifest)
    assert store.verify() == [f"tag app:1 points at missing manifest {manifest}"]


def test_verify_finds_size_mismatches(store):
    config = store.put_blob(b"{}")
    bad = {"schemaVersion": 2, "config": {"digest": config, "size": 99}, "layers": []}
    manifest = store.put_blob(json.dumps(bad).encode())
    assert store.verify() == [f"manifest {manifest} gives config {config} size 99, the blob has 2"]


def test_verify_index_needs_at_least_one_present_manifest(store):
    present, _, _ = image(store)
    absent = "sha256:" + "3" * 64
    index = {"schemaVersion": 2, "manifests": [{"digest": present}, {"digest": absent}]}
    partial = store.put_blob(json.dumps(index).encode())
    assert store.verify() == []  # a store holds just the platforms it pulled
    store.remove_blob(present)
    assert f"manifest {partial} references missing manifest blob {absent}" in store.verify()


def test_verify_reports_stray_files(store):
    (store.root / "blobs" / "sha256" / "not-a-digest").write_text("x")
    (store.root / "layers" / "sha256" / "junk").mkdir()
    assert store.verify() == [
        "unexpected entry blobs/sha256/not-a-digest",
        "unexpected entry layers/sha256/junk",
    ]


def test_cache_touch_marks_a_record_used_now(store):
    store.cache_put("ab" * 32, {"x": 1})
    path = next((store.root / "cache").rglob("*.json"))
    os.utime(path, (1_000_000, 1_000_000))
    store.cache_touch("ab" * 32)
    assert path.stat().st_mtime > 1_000_000
    store.cache_touch("cd" * 32)  # absent: no error
