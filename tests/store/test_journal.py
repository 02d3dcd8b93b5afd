"""The journal of unflushed content: what is written is named in it, a durability point forgets it, and the
first open after an unclean restart (a journal of another boot) drops what the crash damaged."""

from __future__ import annotations

import json
import os
from pathlib import Path

from builder.store import Store
from builder.store.journal import boot_id

OTHER_BOOT = "fedcba9876543210fedcba9876543210"


def _lines(store: Store) -> list[dict]:
    return [json.loads(line) for line in (store.root / "journal" / boot_id()).read_text().splitlines()]


def _restart(store: Store) -> None:
    """Close ``store`` and give its journal to an ended boot, as a machine that went down would."""
    store.close()
    os.rename(store.root / "journal" / boot_id(), store.root / "journal" / OTHER_BOOT)


def test_blobs_and_layers_are_journaled_before_they_appear_and_sync_forgets_them(store: Store):
    digest = store.put_blob(b"content")
    staging = store.staging_dir()
    (staging / "f").write_text("x")
    store.commit_layer(staging, "sha256:" + "ab" * 32, clamp_mtime=5)
    assert _lines(store) == [
        {"blob": digest},
        {"layer": "sha256:" + "ab" * 32, "clamp": 5, "derived": True},
    ]
    assert store.sync() is True
    assert os.listdir(store.root / "journal") == []
    assert store.sync() is False


def test_a_damaged_blob_of_another_boot_is_dropped_with_the_records_naming_it(tmp_path: Path):
    store = Store.open(tmp_path / "store")
    sound = store.put_blob(b"sound")
    damaged = store.put_blob(b"damaged content")
    store.cache_put("aa" * 16, {"result": {"digest": damaged}})
    store.cache_put("bb" * 16, {"result": {"digest": sound}})
    store.set_tag("example.com/x:1", damaged)
    _restart(store)
    path = store.root / "blobs" / "sha256" / damaged.removeprefix("sha256:")
    os.chmod(path, 0o644)
    path.write_bytes(b"damaged")  # the tail never reached the disk

    again = Store.open(tmp_path / "store")
    assert not again.has_blob(damaged) and again.has_blob(sound)
    assert again.cache_get("aa" * 16) is None and again.cache_get("bb" * 16) is not None
    assert again.tags() == {}
    assert any(damaged in line for line in again.recovered)
    assert os.listdir(again.root / "journal") == []
    assert again.verify() == []


def test_a_torn_journal_line_and_a_retire_left_half_way_are_handled(tmp_path: Path):
    store = Store.open(tmp_path / "store")
    kept = store.put_blob(b"kept")
    store.close()
    journal = store.root / "journal"
    os.rename(journal / boot_id(), journal / f"{OTHER_BOOT}.0badc0de")  # a sync killed before its syncfs
    with open(journal / f"{OTHER_BOOT}.0badc0de", "ab") as f:
        f.write(b'{"blob":"sha256:12')  # the machine went down mid-append
    again = Store.open(tmp_path / "store")
    assert again.has_blob(kept)
    assert os.listdir(journal) == []
    assert "a journal line was damaged: its entry could not be checked" in again.recovered


def test_the_same_boot_checks_nothing(tmp_path: Path):
    store = Store.open(tmp_path / "store")
    digest = store.put_blob(b"content")
    store.close()
    path = store.root / "blobs" / "sha256" / digest.removeprefix("sha256:")
    os.chmod(path, 0o644)
    path.write_bytes(b"outside damage")  # not a crash: found when read, as before
    again = Store.open(tmp_path / "store")
    assert again.has_blob(digest)
    assert len(_lines(again)) == 1
