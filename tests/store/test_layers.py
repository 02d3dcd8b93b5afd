"""Unpacked layers: staging, commit, the layer lock, and the compressed forms recorded for a layer."""

from __future__ import annotations

import hashlib
import os

import pytest

from builder.store import DigestMismatch, LayerNotFound, StoreError

DIFF_ID = "sha256:" + hashlib.sha256(b"layer one").hexdigest()
OTHER = "sha256:" + hashlib.sha256(b"layer two").hexdigest()


def fill(staging, marker: str = "a"):
    (staging / "etc").mkdir()
    (staging / "etc" / "marker").write_text(marker)
    os.symlink("etc/marker", staging / "link")


def test_staging_dirs_are_fresh_empty_and_distinct(store):
    a, b = store.staging_dir(), store.staging_dir()
    assert a != b
    assert os.listdir(a) == [] and os.listdir(b) == []
    assert a.stat().st_dev == (store.root / "layers").stat().st_dev
    assert a.stat().st_mode & 0o777 == 0o755


def test_commit_moves_the_staging_dir_into_place(store):
    staging = store.staging_dir()
    fill(staging)
    path = store.commit_layer(staging, DIFF_ID)
    assert path == store.layer_path(DIFF_ID)
    assert store.has_layer(DIFF_ID)
    assert (path / "etc" / "marker").read_text() == "a"
    assert os.readlink(path / "link") == "etc/marker"
    assert not staging.exists()
    assert store.layers() == [DIFF_ID]


def test_commit_is_idempotent_and_keeps_the_first_layer(store):
    first = store.staging_dir()
    fill(first, "first")
    store.commit_layer(first, DIFF_ID)
    second = store.staging_dir()
    fill(second, "second")
    path = store.commit_layer(second, DIFF_ID)
    assert (path / "etc" / "marker").read_text() == "first"
    assert not second.exists()


def test_empty_layer_commit_is_idempotent(store):
    store.commit_layer(store.staging_dir(), DIFF_ID)
    again = store.staging_dir()
    assert store.commit_layer(again, DIFF_ID) == store.layer_path(DIFF_ID)
    assert not again.exists()


def test_missing_layer(store):
    assert not store.has_layer(OTHER)
    with pytest.raises(LayerNotFound, match="not in the store"):
        store.layer_path(OTHER)


def test_ensure_layer_unpacks_once(store):
    calls = []

    def unpack(staging):
        calls.append(staging)
        fill(staging)
        return DIFF_ID

    path = store.ensure_layer(DIFF_ID, unpack)
    assert store.ensure_layer(DIFF_ID, unpack) == path
    assert len(calls) == 1
    assert (path / "etc" / "marker").read_text() == "a"


def test_ensure_layer_with_a_wrong_diff_id_commits_nothing(store):
    def unpack(staging):
        fill(staging)
        return OTHER

    with pytest.raises(DigestMismatch, match="unpacked layer"):
        store.ensure_layer(DIFF_ID, unpack)
    assert store.layers() == []
    assert [f for _, _, f in os.walk(store.root / "tmp") if f] == []


def test_ensure_layer_discards_staging_when_unpacking_fails(store):
    seen = []

    def unpack(staging):
        seen.append(staging)
        fill(staging)
        raise StoreError("refused entry ../etc/passwd")

    with pytest.raises(StoreError, match="refused"):
        store.ensure_layer(DIFF_ID, unpack)
    assert not store.has_layer(DIFF_ID)
    assert not seen[0].exists()


def test_discard_staging_only_accepts_staging_dirs(store, tmp_path):
    staging = store.staging_dir()
    fill(staging)
    store.discard_staging(staging)
    assert not staging.exists()
    outside = tmp_path / "precious"
    outside.mkdir()
    with pytest.raises(StoreError, match="not a staging directory"):
        store.discard_staging(outside)
    assert outside.exists()


def test_remove_layer(store):
    staging = store.staging_dir()
    fill(staging)
    store.commit_layer(staging, DIFF_ID)
    assert store.remove_layer(DIFF_ID)
    assert not store.has_layer(DIFF_ID)
    assert not store.remove_layer(DIFF_ID)
    assert os.listdir(store.root / "tmp") == [os.path.basename(staging.parent)]


def test_layer_blob_records_newest_present_form(store):
    assert store.layer_blob(DIFF_ID) is None
    gz = store.put_blob(b"gzip form")
    zst = store.put_blob(b"zstd form")
    store.record_layer_blob(DIFF_ID, gz, 9, "application/vnd.oci.image.layer.v1.tar+gzip")
    store.record_layer_blob(DIFF_ID, zst, 9, "application/vnd.oci.image.layer.v1.tar+zstd")
    assert store.layer_blob(DIFF_ID) == {
        "digest": zst,
        "size": 9,
        "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
    }
    store.remove_blob(zst)
    assert store.layer_blob(DIFF_ID)["digest"] == gz
    assert [b["digest"] for b in store.layer_blobs(DIFF_ID)] == [zst, gz]
    store.record_layer_blob(DIFF_ID, gz, 9, "application/vnd.oci.image.layer.v1.tar+gzip")
    assert [b["digest"] for b in store.layer_blobs(DIFF_ID)] == [gz, zst]
    assert store.layer_blob(OTHER) is None
