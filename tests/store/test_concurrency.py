"""Several processes sharing one store at once: blobs, a layer, tags and locks."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from builder.store import LockBusy, Store
from tests.store.store_worker import LAYER_DIFF_ID, LAYER_FILES, SHARED

WORKERS = 6
ROUNDS = 8


def test_processes_sharing_a_store_leave_it_consistent(tmp_path, spawn_worker):
    root = tmp_path / "store"
    go = tmp_path / "go"
    counter = tmp_path / "unpacked-by"
    procs = [
        spawn_worker("hammer", str(root), str(i), str(ROUNDS), str(go), str(counter)) for i in range(WORKERS)
    ]
    time.sleep(0.3)  # let every worker open the store and wait at the start line
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0] * WORKERS

    store = Store.open(root)
    assert store.verify() == []
    # Every tag every process set is there: no update was lost to a concurrent one.
    tags = store.tags()
    assert {f"w{i}:{r}" for i in range(WORKERS) for r in range(ROUNDS)} <= tags.keys()
    assert len(tags) == WORKERS * ROUNDS + 1
    for ref, manifest in tags.items():
        assert store.read_blob(manifest).startswith(b'{"schemaVersion": 2'), ref
    # The shared blob is stored once and intact; each worker's own blobs are all there.
    assert store.read_blob(_sha(SHARED)) == SHARED
    assert len(store.blobs()) == 1 + 2 * WORKERS * ROUNDS
    # The layer lock let exactly one process unpack the shared layer; the others found it present.
    assert len(counter.read_text().splitlines()) == 1
    layer = store.layer_path(LAYER_DIFF_ID)
    assert {name: (layer / name).read_bytes() for name in LAYER_FILES} == LAYER_FILES
    assert (store.layer_path("sha256:" + "ab" * 32) / "marker").read_text() == "same content everywhere\n"
    # All workers exited cleanly and removed their scratch sessions.
    assert list((root / "tmp").iterdir()) == []


def test_exclusive_lock_excludes_other_holders(store):
    order = []
    with store.lock("build"):
        t = threading.Thread(target=lambda: _take(store, order))
        t.start()
        time.sleep(0.2)
        order.append("first released")
    t.join(timeout=10)
    assert order == ["first released", "second acquired"]


def test_shared_locks_coexist_but_exclude_an_exclusive_holder(store):
    busy = pytest.raises(LockBusy, match="held by another process")
    with store.lock("gc", shared=True), store.lock("gc", shared=True), busy, store.lock("gc", blocking=False):
        pass
    with store.lock("gc", blocking=False):
        pass


def test_lock_names_cannot_escape_the_locks_directory(store):
    with pytest.raises(Exception, match="invalid lock name"), store.lock("../tags.json"):
        pass


def _take(store, order):
    with store.lock("build"):
        order.append("second acquired")


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
