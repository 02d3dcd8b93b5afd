"""Garbage collection and the records of direct copies (``state/copies``): a record names the layer whose
files the next copy may link; it keeps nothing alive and goes before (or once) that layer goes."""

from __future__ import annotations

import hashlib
import json
import os

from tests.store.test_gc import DIFF_KEPT, DIFF_ORPHAN, populate

DIFF_ABSENT = "sha256:" + hashlib.sha256(b"never in the store").hexdigest()


def _record(store, name: str, diff_id: str) -> None:
    # the form `builder.effects.copyfill` writes: diff_id first, then the copy's place and source descriptions
    body = {"diff_id": diff_id, "rel": "app", "files": {f"f{n}": "file 644 0:0 sha256:..." for n in range(3)}}
    (store.state_dir("copies") / f"{name * 32}.json").write_text(json.dumps(body, separators=(",", ":")))


def _records(store) -> list[str]:
    return sorted(os.listdir(store.state_dir("copies")))


def test_gc_removes_the_records_of_layers_it_removes_or_that_are_gone(store, monkeypatch):
    populate(store)
    _record(store, "a", DIFF_KEPT)  # its layer stays (a tagged image's)
    _record(store, "b", DIFF_ORPHAN)  # its layer goes in this gc
    _record(store, "c", DIFF_ABSENT)  # its layer went earlier
    (store.state_dir("copies") / f"{'d' * 32}.json").write_text("{not json")  # damaged: names nothing
    (store.state_dir("copies") / "README").write_text("not a record: left alone")
    everything = _records(store)

    dry = store.gc(grace_seconds=0, dry_run=True)
    assert dry.copy_records == [f"{c * 32}.json" for c in "bcd"]
    assert _records(store) == everything

    # documents before what they name: the orphan's record is gone by the time its layer is removed
    remove_layer = store.remove_layer
    seen: list[list[str]] = []

    def removing(diff_id):
        seen.append(_records(store))
        return remove_layer(diff_id)

    monkeypatch.setattr(store, "remove_layer", removing)
    report = store.gc(grace_seconds=0)
    assert report.layers == [DIFF_ORPHAN] and report.copy_records == dry.copy_records
    assert seen == [["README", f"{'a' * 32}.json"]]
    assert _records(store) == ["README", f"{'a' * 32}.json"]


def test_a_record_of_a_layer_spared_by_the_grace_period_stays(store):
    populate(store)
    _record(store, "b", DIFF_ORPHAN)
    report = store.gc()  # everything is younger than the default grace period
    assert report.layers == [] and report.copy_records == []
    assert _records(store) == [f"{'b' * 32}.json"]
