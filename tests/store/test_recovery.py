"""Crashes: what a killed process leaves is never returned, and the next `Store.open` removes it, while a
live process's work in progress is left alone."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

from builder.store import BlobNotFound, Store, default_root

BIG = b"\xee" * (8 << 20)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _ready(proc) -> Path:
    line = proc.stdout.readline().split()
    assert line and line[0] == "ready", line
    return Path(line[1])


def test_sigkill_mid_put_leaves_nothing_to_get_and_is_swept(tmp_path, spawn_worker):
    root = tmp_path / "store"
    proc = spawn_worker("killme", str(root), stdout=subprocess.PIPE, text=True)
    staging = _ready(proc)
    # The child is mid-put: 8 MB of a blob written to a temp file, a half-filled staging dir.
    session = staging.parent
    assert any(name.startswith(".blob-") for name in os.listdir(session))
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL

    assert session.exists()  # nothing has cleaned up yet
    store = Store.open(root)
    assert store.recovered == [session.name]
    assert os.listdir(root / "tmp") == []
    for candidate in (_sha(BIG), _sha(BIG + b"\xee" * 4096)):
        assert not store.has_blob(candidate)
        with pytest.raises(BlobNotFound):
            store.read_blob(candidate)
    assert store.blobs() == []
    assert store.layers() == []
    assert store.verify() == []


def test_a_live_process_keeps_its_work_in_progress(tmp_path, spawn_worker):
    root = tmp_path / "store"
    proc = spawn_worker("hold", str(root), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    staging = _ready(proc)
    store = Store.open(root)
    assert store.recovered == []
    assert (staging / "in-progress").read_text() == "still working\n"
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    assert not staging.exists()  # a clean exit removes its own session


def test_sessions_of_the_same_process_are_not_swept(tmp_path):
    first = Store.open(tmp_path / "store")
    staging = first.staging_dir()
    second = Store.open(tmp_path / "store")
    assert second.recovered == []
    assert staging.exists()
    first.close()
    assert not staging.exists()


def test_stray_files_and_dead_sessions_are_swept(tmp_path):
    root = tmp_path / "store"
    Store.open(root).close()
    (root / "tmp" / "s-crashed").mkdir()
    (root / "tmp" / "s-crashed" / ".blob-x").write_bytes(b"partial")
    (root / "tmp" / "dead-halfdeleted").mkdir()
    (root / "tmp" / ".w-crashed").write_bytes(b"half a tag file")
    store = Store.open(root)
    assert sorted(store.recovered) == [".w-crashed", "s-crashed"]
    assert os.listdir(root / "tmp") == []


def test_sweep_leaves_alone_what_the_store_did_not_make(tmp_path):
    # Another component may keep its own (flock-guarded) state under tmp/; it recovers that itself.
    store = Store.open(tmp_path / "store")
    (store.root / "tmp" / "runs" / "pybuild-1").mkdir(parents=True)
    (store.root / "tmp" / "notes").write_text("not ours")
    state = store.state_dir("runtime")
    (state / "runc").mkdir()
    reopened = Store.open(store.root)
    assert reopened.recovered == []
    assert sorted(os.listdir(store.root / "tmp")) == ["notes", "runs"]
    assert (store.root / "tmp" / "runs" / "pybuild-1").is_dir()
    assert (state / "runc").is_dir()


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")
def test_sweep_never_deletes_through_a_mount_left_in_a_staging_dir(tmp_path):
    root = tmp_path / "store"
    Store.open(root).close()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data").write_text("must survive")
    mountpoint = root / "tmp" / "s-crashed" / "stage-1" / "rootfs"
    mountpoint.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(precious), str(mountpoint)], check=True)
    try:
        Store.open(root)
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False, capture_output=True)
    assert (precious / "data").read_text() == "must survive"
    assert os.listdir(root / "tmp") == []


def test_symlinks_in_a_dead_session_are_not_followed(tmp_path):
    root = tmp_path / "store"
    Store.open(root).close()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "file").write_text("keep")
    (root / "tmp" / "s-crashed").mkdir()
    os.symlink(outside, root / "tmp" / "s-crashed" / "link")
    Store.open(root)
    assert (outside / "file").read_text() == "keep"


def test_deep_and_unreadable_leftovers_are_removed(tmp_path):
    root = tmp_path / "store"
    Store.open(root).close()
    deep = root / "tmp" / "s-crashed"
    deep.mkdir()
    os.mkfifo(deep / "fifo")
    (deep / "work").mkdir(mode=0)  # what an overlay workdir looks like
    for _ in range(1200):  # deeper than Python's recursion limit
        deep = deep / "d"
        deep.mkdir()
    (deep / "f").write_text("x")
    Store.open(root)
    assert os.listdir(root / "tmp") == []


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("PYBUILD_ROOT", str(tmp_path / "from-env"))
    assert default_root() == tmp_path / "from-env"
    assert Store.open().root == tmp_path / "from-env"
    monkeypatch.delenv("PYBUILD_ROOT")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_root() == Path("/var/lib/pybuild")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert default_root() == tmp_path / ".local/share/pybuild"


def test_a_store_with_another_layout_version_is_refused(tmp_path):
    root = tmp_path / "store"
    Store.open(root).close()
    (root / "layout.json").write_text('{"version": 99}')
    with pytest.raises(Exception, match="layout version 99"):
        Store.open(root)
