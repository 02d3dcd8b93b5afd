"""Attestations in the store: ``--provenance=true`` without an image output names the attested index with
``-t``; ``store gc`` keeps its attestation manifests while the name holds it and removes them after."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.build.conftest import Pybuild, write_context


def _blobs(store: Path) -> set[str]:
    return {path.name for path in (store / "blobs" / "sha256").iterdir()}


def test_gc_keeps_attestations_of_a_named_index_only(tmp_path):
    tool = Pybuild(tmp_path / "store")
    context = write_context(tmp_path / "ctx", "FROM scratch\nCOPY f /f\n", {"f": "x\n"})
    tool("build", "--provenance=true", "-t", "a:1", str(context))
    shown = json.loads(tool("inspect", "a:1").out)[0]
    (attestation,) = shown["Attestations"]
    statement = attestation["Statements"][0]["Digest"].removeprefix("sha256:")
    tool("store", "gc")
    assert "sound" in tool("store", "verify").out
    assert statement in _blobs(tmp_path / "store")
    assert json.loads(tool("inspect", "a:1").out)[0]["Attestations"] == [attestation]
    tool("rmi", "a:1")
    old = time.time() - 7200  # past gc's grace period for young content
    for path in (tmp_path / "store" / "blobs" / "sha256").iterdir():
        os.utime(path, (old, old))
    tool("store", "gc")
    assert statement not in _blobs(tmp_path / "store")
    assert attestation["Digest"].removeprefix("sha256:") not in _blobs(tmp_path / "store")
