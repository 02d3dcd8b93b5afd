"""A layer blob is recorded only as the layer it really is: a blob that names another layer's diff_id is
refused even when that layer is unpacked already (nothing would unpack it, so nothing else would look), and
`store verify` reports a blob recorded for a layer it does not decompress to."""

from __future__ import annotations

import gzip
import json

import pytest

from builder.store import Store
from tests.hardening.conftest import store_snapshot
from tests.hardening.imagedocs import config_for, docker_archive, layer_tar, oci_layout, sha

EVIL = layer_tar({"bin/evil": b"#!/bin/sh\necho pwned\n"})


def _busybox_diff_id(cli) -> str:
    return json.loads(cli("inspect", "busybox").out)[0]["RootFS"]["diff_ids"][0]


def _layer_records(cli, diff_id: str) -> list[str]:
    return [record["digest"] for record in Store.open(cli.root).layer_blobs(diff_id)]


@pytest.mark.parametrize("form", ["docker-archive", "oci layout"])
@pytest.mark.parametrize("compressed", [False, True], ids=["tar", "gzip"])
def test_blob_naming_an_unpacked_layer_it_is_not_is_refused(cli, tmp_path, form, compressed):
    busybox = _busybox_diff_id(cli)
    layer = gzip.compress(EVIL) if compressed else EVIL
    config = config_for([], rootfs={"type": "layers", "diff_ids": [busybox]})
    if form == "docker-archive":
        source = docker_archive(tmp_path / "evil.tar", [layer], config=config, tags=["evil:1"])
    else:
        source = oci_layout(tmp_path / "layout", [layer], config=config)
    records = _layer_records(cli, busybox)
    before = store_snapshot(cli.root)
    result = cli("load", "-i", str(source), check=False)
    assert result.returncode == 1, result.out + result.err
    assert "Traceback" not in result.err
    assert f"error: layer {sha(layer)} decompresses to {sha(EVIL)}, but the image config says {busybox}" in (
        result.err
    ), result.err
    assert _layer_records(cli, busybox) == records
    after = store_snapshot(cli.root)
    assert (after["tags"], after["layers"]) == (before["tags"], before["layers"])
    assert "evil" not in cli("images").out
    assert cli("store", "verify").returncode == 0


def test_the_same_layer_in_another_compression_is_accepted(cli, tmp_path):
    """The check does not refuse an honest blob: the same layer tar, gzip-compressed, names the same
    diff_id and is recorded as a second compressed form of it."""
    layer = layer_tar({"hello": b"hi\n"})
    cli("load", "-i", str(docker_archive(tmp_path / "plain.tar", [layer], tags=["one:1"])))
    packed = gzip.compress(layer)
    cli("load", "-i", str(oci_layout(tmp_path / "layout", [packed], config=config_for([layer]))))
    assert set(_layer_records(cli, sha(layer))) == {sha(layer), sha(packed)}
    assert cli("store", "verify").returncode == 0


def test_store_verify_reports_a_blob_recorded_for_another_layer(cli):
    """As a store loaded by an earlier pybuild could be: the record says an evil blob is busybox's layer."""
    busybox = _busybox_diff_id(cli)
    store = Store.open(cli.root)
    digest = store.put_blob(EVIL)
    store.record_layer_blob(busybox, digest, len(EVIL), "application/vnd.oci.image.layer.v1.tar")
    result = cli("store", "verify", check=False)
    assert result.returncode != 0
    assert f"blob {digest} is recorded as layer {busybox}, but it decompresses to {sha(EVIL)}" in (
        result.out + result.err
    )
    assert "Traceback" not in result.err


def test_shared_cache_layer_naming_an_unpacked_layer_it_is_not_is_not_recorded(template_store, tmp_path):
    """A shared cache whose record gives a step's result as an evil blob with busybox's diff_id (unpacked in
    every consumer's store): the blob is checked, not recorded as busybox's layer, and the step runs."""
    from tests.hardening.conftest import copy_store, write_context

    producer = copy_store(template_store, tmp_path / "producer")
    busybox = _busybox_diff_id(producer)
    context = write_context(tmp_path / "ctx", "FROM busybox\nRUN echo hi > /f\n")
    cache = tmp_path / "cache"
    producer("build", "--cache-to", f"type=local,dest={cache},mode=max,image-manifest=true", str(context))
    _poison(cache, gzip.compress(EVIL), busybox)

    consumer = copy_store(template_store, tmp_path / "consumer")
    records = _layer_records(consumer, busybox)
    result = consumer(
        "build", "-t", "app:1", "--cache-from", f"type=local,src={cache}", str(context), check=False
    )
    assert result.returncode == 0, result.err
    assert "Traceback" not in result.err
    assert f"decompresses to {sha(EVIL)}, but the image config says {busybox}" in result.err, result.err
    assert _layer_records(consumer, busybox) == records
    assert consumer("run", "--rm", "app:1", "cat", "/f").out == "hi\n"  # the step ran instead
    assert consumer("store", "verify").returncode == 0


def _poison(cache, evil: bytes, diff_id: str) -> None:
    """Point every record of the local cache at ``evil`` (stored in it) with ``diff_id``."""
    blobs = cache / "blobs" / "sha256"

    def put(data: bytes) -> dict:
        (blobs / sha(data).split(":")[1]).write_bytes(data)
        return {"digest": sha(data), "size": len(data)}

    put(evil)
    index = json.loads((cache / "index.json").read_text())
    entry = index["manifests"][0]
    manifest = json.loads((blobs / entry["digest"].split(":")[1]).read_bytes())
    records = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_bytes())
    for record in records.values():
        record["result"].update(digest=sha(evil), size=len(evil), diff_id=diff_id)
        record["result"]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    manifest["config"].update(put(json.dumps(records, sort_keys=True).encode()))
    manifest["layers"] = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(evil), "size": len(evil)}
    ]
    entry.update(put(json.dumps(manifest).encode()))
    (cache / "index.json").write_text(json.dumps(index))
