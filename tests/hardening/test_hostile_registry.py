"""``pybuild pull`` from a registry that lies (a local fake server): endless blobs stop at their declared
size, a misstated size is refused even for a blob the store holds, a blob naming an unpacked layer it is not
is refused, and broken answers (short bodies, redirect loops, hostile documents) give one clear error that
names the registry. The store gains nothing and still verifies."""

from __future__ import annotations

import gzip
import json
import os
import time

import pytest

from builder.store import Store
from tests.hardening.conftest import store_snapshot
from tests.hardening.hostile_registry import HostileRegistry, document, endless, redirect_to, short
from tests.hardening.imagedocs import OCI_MANIFEST, config_for, layer_tar, raw, sha

LAYER = layer_tar({"hello": b"hi\n"})


@pytest.fixture
def registry():
    with HostileRegistry() as server:
        yield server


def _du(path) -> int:
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _, files in os.walk(path) for f in files)


def _assert_refused(cli, ref: str, *named: str, timeout: float = 120) -> str:
    before = store_snapshot(cli.root)
    size = _du(cli.root)
    result = cli("pull", ref, check=False, timeout=timeout)
    assert result.returncode == 1, result.out + result.err
    assert "error:" in result.err and "Traceback" not in result.err, result.err
    assert len(result.err) < 2000, result.err
    error = result.err[result.err.index("error:") :]  # the progress lines before it name the registry too
    for word in named:
        assert word in error, result.err
    after = store_snapshot(cli.root)
    assert (after["tags"], after["layers"]) == (before["tags"], before["layers"])
    assert _du(cli.root) < size + (4 << 20)  # nothing big was kept
    assert cli("store", "verify").returncode == 0
    assert os.listdir(cli.root / "tmp") == []
    return result.err


@pytest.mark.parametrize("chunked", [False, True], ids=["close-delimited", "chunked"])
def test_endless_layer_blob_stops_at_its_declared_size(cli, registry, chunked):
    config = raw(config_for([LAYER]))
    registry.image("evil", "1", config, [LAYER], sizes=[173])
    registry.routes[f"/v2/evil/blobs/{sha(LAYER)}"] = endless(registry.served, chunked=chunked)
    started = time.monotonic()
    err = _assert_refused(cli, f"{registry.domain}/evil:1", sha(LAYER), "173 bytes")
    assert time.monotonic() - started < 60, err
    assert sum(registry.served.values()) < (64 << 20)  # pybuild stopped reading long before 1 GiB


def test_endless_config_blob_stops_at_its_declared_size(cli, registry):
    config = raw(config_for([LAYER]))
    registry.image("evil", "1", config, [LAYER])
    registry.routes[f"/v2/evil/blobs/{sha(config)}"] = endless(registry.served)
    _assert_refused(cli, f"{registry.domain}/evil:1", sha(config), f"{len(config)} bytes")
    assert sum(registry.served.values()) < (64 << 20)


def test_endless_manifest_stops_at_the_document_limit(cli, registry):
    registry.routes["/v2/evil/manifests/1"] = endless(registry.served)
    _assert_refused(cli, f"{registry.domain}/evil:1", "manifest", "4 MiB", registry.domain)
    assert sum(registry.served.values()) < (64 << 20)


def test_config_descriptor_larger_than_the_document_limit_is_refused(cli, registry):
    config = raw(config_for([LAYER]))
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha(config),
            "size": 1 << 40,
        },
        "layers": [],
    }
    registry.routes["/v2/evil/manifests/1"] = document(raw(manifest), OCI_MANIFEST)
    registry.routes[f"/v2/evil/blobs/{sha(config)}"] = endless(registry.served)
    _assert_refused(cli, f"{registry.domain}/evil:1", sha(config), "4 MiB")
    assert sum(registry.served.values()) < (64 << 20)


def test_misstated_size_of_a_stored_blob_is_refused(cli, registry, tmp_path):
    """The store holds the layer blob already (from an honest pull); a manifest that misstates its size
    would be stored as it is and fail `store verify`."""
    config = raw(config_for([LAYER]))
    registry.image("good", "1", config, [LAYER])
    cli("pull", f"{registry.domain}/good:1")
    registry.image("evil", "1", config, [LAYER], sizes=[len(LAYER) + 5])
    _assert_refused(cli, f"{registry.domain}/evil:1", sha(LAYER), f"{len(LAYER) + 5}")


def test_blob_naming_an_unpacked_layer_it_is_not_is_refused(cli, registry):
    good = layer_tar({"hello": b"hi\n"})
    registry.image("good", "1", raw(config_for([good])), [good])
    cli("pull", f"{registry.domain}/good:1")
    evil = gzip.compress(layer_tar({"bin/evil": b"#!/bin/sh\n"}))
    config = raw(config_for([], rootfs={"type": "layers", "diff_ids": [sha(good)]}))
    registry.image("evil", "1", config, [evil])
    _assert_refused(cli, f"{registry.domain}/evil:1", sha(evil), f"the image config says {sha(good)}")
    records = [r["digest"] for r in Store.open(cli.root).layer_blobs(sha(good))]
    assert sha(evil) not in records


def test_short_manifest_body_names_the_registry(cli, registry):
    registry.routes["/v2/evil/manifests/1"] = short(b'{"schemaVersion":', 1000)
    err = _assert_refused(cli, f"{registry.domain}/evil:1", registry.domain, "evil")
    assert "IncompleteRead" not in err


def test_short_blob_body_names_the_registry_and_the_blob(cli, registry):
    config = raw(config_for([LAYER]))
    registry.image("evil", "1", config, [LAYER])
    registry.routes[f"/v2/evil/blobs/{sha(LAYER)}"] = short(LAYER[:100], len(LAYER))
    err = _assert_refused(cli, f"{registry.domain}/evil:1", registry.domain, sha(LAYER))
    assert "IncompleteRead" not in err


def test_redirect_loop_names_the_registry(cli, registry):
    registry.routes["/v2/evil/manifests/1"] = redirect_to("/v2/evil/manifests/1")
    _assert_refused(cli, f"{registry.domain}/evil:1", registry.domain, "too many redirects")


HOSTILE_DOCUMENTS = {
    "an empty object": b"{}",
    "a list": b"[]",
    "100,000 nested lists": b'{"schemaVersion":2,"layers":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "layers of numbers": json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [5]}).encode(),
    "annotations of lists": json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [],
            "annotations": {"a": []},
        }
    ).encode(),
}


@pytest.mark.parametrize("case", HOSTILE_DOCUMENTS, ids=list(HOSTILE_DOCUMENTS))
def test_hostile_manifest_from_a_registry_is_refused(cli, registry, case):
    registry.routes["/v2/evil/manifests/1"] = document(HOSTILE_DOCUMENTS[case], OCI_MANIFEST)
    _assert_refused(cli, f"{registry.domain}/evil:1", f"{registry.domain}/evil")


@pytest.mark.parametrize("case", ["created 5", "Env 5", "history 5"])
def test_hostile_config_from_a_registry_is_refused(cli, registry, case):
    field = {"created 5": {"created": 5}, "Env 5": {"config": {"Env": 5}}, "history 5": {"history": 5}}[case]
    config = raw(config_for([LAYER], **field))
    registry.image("evil", "1", config, [LAYER])
    _assert_refused(cli, f"{registry.domain}/evil:1", f"config {sha(config)}")
    assert "busybox" in cli("images").out
