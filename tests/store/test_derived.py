"""Layer tars the store makes on demand from unpacked layers (`builder.store.derived`): a layer committed with
its recorded `TarForm` is a blob the store can read (its tar, digest = diff_id) without a file of it; the
tar read is byte for byte what `write_layer` made; a layer changed on disk is refused at the end of the
read; a reader closed early stops the writer; `verify` archives such layers and reports a changed one."""

from __future__ import annotations

import io
import os
import threading

import pytest

from builder.layer import hash_layer, write_layer
from builder.store import BlobNotFound
from builder.store.derived import DerivedTarMismatch, TarForm

CLAMP = 1_700_000_000


def _committed_layer(store, files: dict[str, bytes]) -> tuple[str, bytes]:
    """A layer of ``files`` committed as a build step commits one; returns its diff_id and its tar."""
    staging = store.staging_dir()
    for name, data in files.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    tar = io.BytesIO()
    info = write_layer(staging, tar, compression="none", clamp_mtime=CLAMP)
    store.record_layer_tar(info.diff_id, TarForm(info.size, CLAMP))
    store.commit_layer(staging, info.diff_id, clamp_mtime=CLAMP)
    return info.diff_id, tar.getvalue()


def test_a_committed_layer_is_a_blob_without_a_file(store):
    diff_id, tar = _committed_layer(store, {"etc/a": b"a\n", "big": os.urandom(3 << 20)})
    assert store.has_blob(diff_id) and not store.has_stored_blob(diff_id)
    assert store.blob_size(diff_id) == len(tar)
    with store.open_blob(diff_id) as stream:
        assert stream.read() == tar
    assert store.verify() == []
    # a tool that needs a file gets one, kept from then on
    assert store.blob_path(diff_id).read_bytes() == tar
    assert store.has_stored_blob(diff_id)
    assert store.verify() == []


def test_hash_layer_counts_what_write_layer_writes(store, tmp_path):
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_bytes(b"x" * 5000)
    seen = []
    info = hash_layer(root, clamp_mtime=CLAMP, advance=seen.append)
    tar = io.BytesIO()
    assert write_layer(root, tar, compression="none", clamp_mtime=CLAMP).diff_id == info.diff_id
    assert info.size == sum(seen) == len(tar.getvalue())


def test_a_layer_changed_on_disk_is_refused_at_the_end_of_the_read(store):
    diff_id, _ = _committed_layer(store, {"etc/a": b"a\n"})
    (store.layer_path(diff_id) / "etc" / "a").write_bytes(b"b\n")
    with (
        store.open_blob(diff_id) as stream,
        pytest.raises(DerivedTarMismatch, match="no longer makes its own tar"),
    ):
        stream.read()
    assert any(f"layer {diff_id} no longer makes its own tar" in problem for problem in store.verify())


def test_a_reader_closed_early_stops_the_writer(store):
    diff_id, _ = _committed_layer(store, {"big": os.urandom(8 << 20)})
    before = threading.active_count()
    stream = store.open_blob(diff_id)
    assert len(stream.read(1000)) == 1000
    stream.close()
    assert threading.active_count() == before


def test_without_a_recorded_form_or_its_layer_there_is_no_blob(store):
    staging = store.staging_dir()
    (staging / "f").write_text("f")
    info = hash_layer(staging)
    store.commit_layer(staging, info.diff_id)  # unpacked, its tar form never recorded
    assert not store.has_blob(info.diff_id)
    diff_id, _ = _committed_layer(store, {"g": b"g"})
    store.remove_layer(diff_id)
    assert not store.has_blob(diff_id)
    with pytest.raises(BlobNotFound):
        store.open_blob(diff_id)


def test_recording_a_compressed_blob_keeps_the_tar_form(store):
    diff_id, tar = _committed_layer(store, {"etc/a": b"a\n"})
    blob = store.put_blob(b"not really gzip")
    store.record_layer_blob(diff_id, blob, 15, "application/vnd.oci.image.layer.v1.tar+gzip")
    assert store.layer_tar_form(diff_id) == TarForm(len(tar), CLAMP)
    assert store.layer_blob(diff_id)["digest"] == blob
