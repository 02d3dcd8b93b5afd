"""Blobs: put, get, idempotency, streaming writes, and verification of what is read back."""

from __future__ import annotations

import gzip
import hashlib
import os

import pytest

from builder.store import BlobCorrupted, BlobNotFound, DigestMismatch, InvalidDigest, Store


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def scratch_files(store: Store) -> list[str]:
    return [os.path.join(d, f) for d, _, files in os.walk(store.root / "tmp") for f in files]


def test_put_then_get_returns_the_content_under_its_sha256(store):
    digest = store.put_blob(b"hello\n")
    assert digest == sha(b"hello\n")
    assert store.has_blob(digest)
    assert store.read_blob(digest) == b"hello\n"
    assert store.blob_size(digest) == 6
    assert store.blob_path(digest).read_bytes() == b"hello\n"
    with store.open_blob(digest) as f:
        assert f.read() == b"hello\n"


def test_put_is_idempotent(store):
    first = store.put_blob(b"same", expected=sha(b"same"))
    second = store.put_blob(b"same")
    assert first == second
    assert store.blobs() == [first]
    assert scratch_files(store) == []


def test_blobs_persist_across_opens(store):
    digest = store.put_blob(b"kept")
    store.close()
    assert Store.open(store.root).read_blob(digest) == b"kept"


def test_put_with_wrong_expected_digest_stores_nothing(store):
    with pytest.raises(DigestMismatch) as info:
        store.put_blob(b"actual", expected=sha(b"other"))
    assert info.value.actual == sha(b"actual")
    assert not store.has_blob(sha(b"actual"))
    assert not store.has_blob(sha(b"other"))
    assert store.blobs() == []
    assert scratch_files(store) == []


def test_streaming_writer_hashes_while_writing(store):
    chunk = os.urandom(1 << 16)
    with store.blob_writer() as w:
        for _ in range(64):
            w.write(chunk)
        digest, size = w.commit()
    assert size == 64 << 16
    assert digest == sha(chunk * 64)
    assert store.blob_path(digest).stat().st_size == size


def test_streaming_writer_mismatch_stores_nothing(store):
    with pytest.raises(DigestMismatch), store.blob_writer(expected=sha(b"promised")) as w:
        w.write(b"delivered")
        w.commit()
    assert store.blobs() == []
    assert scratch_files(store) == []


def test_streaming_writer_size_mismatch_stores_nothing(store):
    with pytest.raises(Exception, match="expected 5"), store.blob_writer(expected_size=5) as w:
        w.write(b"abc")
        w.commit()
    assert store.blobs() == []


def test_leaving_writer_without_commit_discards(store):
    with store.blob_writer() as w:
        w.write(b"abandoned")
    assert store.blobs() == []
    assert scratch_files(store) == []


def test_exception_inside_writer_discards(store):
    with pytest.raises(RuntimeError), store.blob_writer() as w:
        w.write(b"partial")
        raise RuntimeError("producer failed")
    assert store.blobs() == []
    assert scratch_files(store) == []


def test_writer_works_as_a_compressor_output_that_gets_closed(store):
    payload = b"layer bytes " * 10_000
    with store.blob_writer() as w:
        with gzip.GzipFile(fileobj=w, mode="wb", mtime=0) as gz:
            gz.write(payload)
        w.close()  # a compressor may close its output; the content must survive until commit
        digest, size = w.commit()
    with store.open_blob(digest) as f:
        assert gzip.decompress(f.read()) == payload
    assert store.blob_size(digest) == size


def test_corrupted_blob_is_refused_and_removed(store):
    digest = store.put_blob(b'{"config": "original"}')
    path = store.blob_path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b'{"config": "tampered"}')
    with pytest.raises(BlobCorrupted) as info:
        store.read_blob(digest)
    assert "corrupted" in str(info.value)
    # Nothing a later get could return: the damaged file is gone and the blob can be fetched again.
    assert not store.has_blob(digest)
    with pytest.raises(BlobNotFound):
        store.read_blob(digest)
    assert store.put_blob(b'{"config": "original"}') == digest
    assert store.read_blob(digest) == b'{"config": "original"}'


@pytest.mark.root  # the blob file is read-only but for root
def test_open_blob_raises_at_eof_on_a_truncated_blob(store):
    data = os.urandom(3 << 20)
    digest = store.put_blob(data)
    os.truncate(store.blob_path(digest), len(data) - 1)
    with store.open_blob(digest) as f, pytest.raises(BlobCorrupted):
        while f.read(1 << 16):
            pass


def test_putting_again_repairs_a_damaged_copy(store):
    digest = store.put_blob(b"good content")
    path = store.blob_path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"bad content!")
    store.put_blob(b"good content")
    assert store.read_blob(digest) == b"good content"


def test_missing_blob(store):
    missing = sha(b"never stored")
    assert not store.has_blob(missing)
    for call in (store.blob_path, store.open_blob, store.read_blob, store.blob_size):
        with pytest.raises(BlobNotFound, match="not in the store"):
            call(missing)


@pytest.mark.parametrize(
    "bad",
    ["sha256:../../../etc/passwd", "sha256:" + "A" * 64, "sha512:" + "0" * 128, "0" * 64, "sha256:" + "0" * 63],
)
def test_malformed_digests_are_refused_before_touching_the_disk(store, bad):
    with pytest.raises(InvalidDigest):
        store.has_blob(bad)
    with pytest.raises(InvalidDigest):
        store.put_blob(b"x", expected=bad)
    with pytest.raises(InvalidDigest):
        store.layer_path(bad)
