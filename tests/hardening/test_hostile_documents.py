"""Hostile image documents and layer headers through ``pybuild load``: each is refused with one clear error that
names the document (exit 1, no traceback), and the store gains nothing, still verifies and still lists its
images. Documents are checked against their schemas before anything is stored from them."""

from __future__ import annotations

import os

import pytest

from tests.hardening.conftest import store_snapshot
from tests.hardening.imagedocs import config_for, docker_archive, layer_tar, oci_layout, raw, sha

LAYER = layer_tar({"hello": b"hi\n"})


def _assert_refused(cli, source, *named: str) -> str:
    before = store_snapshot(cli.root)
    result = cli("load", "-i", str(source), check=False)
    assert result.returncode == 1, result.out + result.err
    assert "error:" in result.err and "Traceback" not in result.err, result.err
    assert len(result.err) < 2000, result.err
    for word in named:
        assert word in result.err, result.err
    after = store_snapshot(cli.root)
    assert (after["tags"], after["layers"]) == (before["tags"], before["layers"])
    assert cli("store", "verify").returncode == 0
    assert os.listdir(cli.root / "tmp") == []
    assert "busybox" in cli("images").out
    return result.err


PAX_CASES = {
    "mtime 1e300": {"mtime": "1e300"},
    "mtime nan": {"mtime": "nan"},
    "mtime inf": {"mtime": "inf"},
    "gid 20 digits": {"gid": "99999999999999999999"},
    "uid 20 digits": {"uid": "99999999999999999999"},
}


@pytest.mark.parametrize("case", PAX_CASES, ids=list(PAX_CASES))
def test_layer_with_an_impossible_pax_field_is_refused(cli, tmp_path, case):
    layer = layer_tar({"f": b"x"}, pax=PAX_CASES[case])
    err = _assert_refused(cli, docker_archive(tmp_path / "a.tar", [layer]), "layer")
    assert "'f'" in err or sha(layer) in err, err


DOCKER_MANIFESTS = {
    "Layers [5]": [{"Config": "config.json", "RepoTags": ["x:1"], "Layers": [5]}],
    "RepoTags [5]": [{"Config": "config.json", "RepoTags": [5], "Layers": ["layer0.tar"]}],
    "RepoTags 'abc'": [{"Config": "config.json", "RepoTags": "abc", "Layers": ["layer0.tar"]}],
    "Layers 'layer0.tar'": [{"Config": "config.json", "RepoTags": ["x:1"], "Layers": "layer0.tar"}],
    "Config 5": [{"Config": 5, "Layers": ["layer0.tar"]}],
    "100,000 nested lists": b"[" * 100_000 + b"]" * 100_000,
    "an object": {"Config": "config.json"},
}


@pytest.mark.parametrize("case", DOCKER_MANIFESTS, ids=list(DOCKER_MANIFESTS))
def test_malformed_docker_archive_manifest_is_refused(cli, tmp_path, case):
    archive = docker_archive(tmp_path / "a.tar", [LAYER], manifest=DOCKER_MANIFESTS[case])
    _assert_refused(cli, archive, "manifest.json")


CONFIGS = {
    "created 5": config_for([LAYER], created=5),
    "created not a time": config_for([LAYER], created="yesterday"),
    "history 5": config_for([LAYER], history=5),
    "history entry 5": config_for([LAYER], history=[5]),
    "config Env 5": config_for([LAYER], config={"Env": 5}),
    "config Cmd string list of ints": config_for([LAYER], config={"Cmd": [1, 2]}),
    "config 5": config_for([LAYER], config=5),
    "Labels of lists": config_for([LAYER], config={"Labels": {"a": []}}),
    "architecture 5": config_for([LAYER], architecture=5),
    "diff_ids 5": config_for([LAYER], rootfs={"type": "layers", "diff_ids": 5}),
    "100,000 nested lists": b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
}


@pytest.mark.parametrize("form", ["docker-archive", "oci layout"])
@pytest.mark.parametrize("case", CONFIGS, ids=list(CONFIGS))
def test_malformed_image_config_is_refused(cli, tmp_path, case, form):
    if form == "docker-archive":
        source = docker_archive(tmp_path / "a.tar", [LAYER], config=CONFIGS[case])
    else:
        source = oci_layout(tmp_path / "layout", [LAYER], config=CONFIGS[case])
    _assert_refused(cli, source, "config")


def test_wrong_annotations_in_an_oci_index_are_refused(cli, tmp_path):
    for number, wrong in enumerate([5, {"io.containerd.image.name": 5}, ["a"]]):
        layout = oci_layout(tmp_path / f"layout{number}", [LAYER], annotations=wrong)
        _assert_refused(cli, layout, "index.json", "annotations")


INDEXES = {
    "empty": {"schemaVersion": 2, "manifests": []},
    "manifests 5": {"schemaVersion": 2, "manifests": 5},
    "100,000 nested lists": b'{"schemaVersion":2,"manifests":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "not JSON": b"\xff\xfe",
}


@pytest.mark.parametrize("case", INDEXES, ids=list(INDEXES))
def test_malformed_or_empty_oci_index_is_refused(cli, tmp_path, case):
    layout = oci_layout(tmp_path / "layout", [LAYER], index=INDEXES[case])
    _assert_refused(cli, layout, "index.json")


def test_deeply_nested_image_manifest_is_refused(cli, tmp_path):
    manifest = b'{"schemaVersion":2,"layers":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    _assert_refused(cli, oci_layout(tmp_path / "layout", [LAYER], manifest=manifest), "manifest")


def test_layer_descriptor_with_a_wrong_size_is_refused(cli, tmp_path):
    """The blob matches its digest but not the size its descriptor states: loading it would store a manifest
    that `store verify` reports (item 8)."""
    layout = oci_layout(tmp_path / "layout", [LAYER], layer_sizes=[3])
    _assert_refused(cli, layout, sha(LAYER), "descriptor says 3")


def test_layer_descriptor_with_a_wrong_size_is_refused_when_the_blob_is_stored(cli, tmp_path):
    cli("load", "-i", str(oci_layout(tmp_path / "good", [LAYER])))
    layout = oci_layout(tmp_path / "layout", [LAYER], layer_sizes=[3])
    _assert_refused(cli, layout, sha(LAYER), "descriptor says 3")


def test_images_lists_a_store_holding_an_image_with_an_odd_created(cli):
    """A store filled before configs were checked may hold ``"created": 5``: the listing still shows every
    image (that one without an age) instead of failing for the whole store."""
    from builder.store import Store

    store = Store.open(cli.root)
    config = raw(config_for([], created=5))
    manifest = raw(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha(config),
                "size": len(config),
            },
            "layers": [],
        }
    )
    store.put_blob(config)
    store.set_tag("docker.io/library/odd:1", store.put_blob(manifest))
    result = cli("images")
    assert "busybox" in result.out and "odd" in result.out, result.out + result.err
    assert "Traceback" not in result.err


def test_oversized_config_in_a_docker_archive_is_refused_before_it_is_copied(cli, tmp_path):
    config = raw(config_for([LAYER], padding=" " * (5 << 20)))
    _assert_refused(cli, docker_archive(tmp_path / "a.tar", [LAYER], config=config), "config.json", "4 MiB")
    assert not any(p.stat().st_size > (4 << 20) for p in (cli.root / "blobs" / "sha256").iterdir())
