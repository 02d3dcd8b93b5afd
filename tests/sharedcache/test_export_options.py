"""``--cache-to type=registry`` options as BuildKit v0.13 takes them: ``image-manifest``, ``oci-mediatypes``,
``compression``, ``ignore-error``; each checked through a real registry, the cache read back by a runner
with an empty store (``other_cli``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.sharedcache.conftest import LAYER_STEPS, MARKERS

CACHE_TYPE = "application/vnd.pybuild.cache.config.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REFERENCE = Path(__file__).parent / "reference/buildkit-registry-cache.json"  # BuildKit v0.13's, recorded


def _skopeo_raw(ref: str) -> dict:
    out = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out)


def _rebuild_all_cached(other_cli, ref: str, context) -> None:
    built = other_cli("build", "--progress=plain", "-t", "app:1", "--cache-from", ref, str(context))
    assert f"0 steps ran, {LAYER_STEPS} cached" in built.err
    assert not any(marker in built.err for marker in MARKERS)
    assert other_cli("run", "app:1", "cat", "/app/two", "/app/three").out == "hi two\nthree\n"


def test_image_manifest_true_writes_an_oci_image_manifest_a_later_build_reuses(
    cli, other_cli, registry, context, tmp_path
):
    ref = f"{registry.domain}/ci/app:cache"
    cli("build", "-t", "app:1", "--cache-to", f"type=registry,ref={ref},image-manifest=true", str(context))

    manifest = _skopeo_raw(ref)
    assert manifest["mediaType"] == OCI_MANIFEST and manifest["config"]["mediaType"] == CACHE_TYPE
    assert "artifactType" not in manifest  # as BuildKit's: the config's media type says what it is
    assert len(manifest["layers"]) == LAYER_STEPS
    # skopeo copies it whole, each blob checked against its digest (it is an artifact, not an image, so
    # `skopeo inspect` without --raw refuses image-specific reading of its config, as for BuildKit's)
    layout = tmp_path / "copied"
    subprocess.run(
        ["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{layout}:cache"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    blobs = {f"sha256:{path.name}" for path in (layout / "blobs/sha256").iterdir()}
    assert {manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])} <= blobs
    _rebuild_all_cached(other_cli, ref, context)


def test_the_default_layout_is_an_index_of_the_layers_and_the_cache_config(cli, other_cli, registry, context):
    ref = f"{registry.domain}/ci/app:cache"
    cli("build", "-t", "app:1", "--cache-to", f"type=registry,ref={ref}", str(context))

    index = _skopeo_raw(ref)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    *layers, config = index["manifests"]
    assert config["mediaType"] == CACHE_TYPE and len(layers) == LAYER_STEPS
    _rebuild_all_cached(other_cli, ref, context)


def test_oci_mediatypes_false_writes_a_docker_manifest_list_and_docker_layer_types(
    cli, other_cli, registry, context
):
    ref = f"{registry.domain}/ci/app:cache"
    cli("build", "-t", "app:1", "--cache-to", f"type=registry,ref={ref},oci-mediatypes=false", str(context))

    index = _skopeo_raw(ref)
    assert index["mediaType"] == DOCKER_LIST
    assert {entry["mediaType"] for entry in index["manifests"][:-1]} == {DOCKER_GZIP}
    _rebuild_all_cached(other_cli, ref, context)


def test_compression_zstd_exports_zstd_layers_that_a_later_build_unpacks(cli, other_cli, registry, context):
    ref = f"{registry.domain}/ci/app:cache"
    spec = f"type=registry,ref={ref},image-manifest=true,compression=zstd,compression-level=5"
    cli("build", "-t", "app:1", "--cache-to", spec, str(context))

    manifest = _skopeo_raw(ref)
    assert {layer["mediaType"] for layer in manifest["layers"]} == {ZSTD}
    # the blobs really are zstd frames (magic 28 b5 2f fd), not gzip under another name
    for layer in manifest["layers"]:
        head = subprocess.run(
            ["curl", "-s", "-r", "0-3", f"http://{registry.domain}/v2/ci/app/blobs/{layer['digest']}"],
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
        assert head[:4] == b"\x28\xb5\x2f\xfd"
    # the build's own image keeps its gzip layers: the export made zstd forms beside them
    image = json.loads(cli("inspect", "app:1").out)[0]["Manifest"]
    assert ZSTD not in {layer["mediaType"] for layer in image["layers"]}
    _rebuild_all_cached(other_cli, ref, context)


def test_ignore_error_turns_a_failed_export_into_a_warning(cli, context):
    unreachable = "127.0.0.1:9/ci/app:cache"  # the discard port: nothing listens there

    failed = cli(
        "build", "-t", "app:1", "--cache-to", f"type=registry,ref={unreachable}", str(context), check=False
    )
    assert failed.returncode != 0 and "Traceback" not in failed.err
    assert "127.0.0.1:9" in failed.err

    built = cli(
        "build", "-t", "app:2", "--cache-to", f"type=registry,ref={unreachable},ignore-error=true", str(context)
    )
    assert f"warning: cache export to type=registry,ref={unreachable} failed" in built.err
    assert cli("run", "app:2", "cat", "/app/three").out == "three\n"


def test_an_unknown_option_is_refused_by_name(cli, context):
    refused = cli(
        "build", "--cache-to", "type=registry,ref=r.io/a:c,compresion=zstd", str(context), check=False
    )
    assert refused.returncode == 2 and "unknown --cache-to option 'compresion'" in refused.err


def test_a_directory_takes_the_same_options(cli, other_cli, context, tmp_path):
    cache = tmp_path / "ci-cache"
    spec = f"type=local,dest={cache},image-manifest=true,compression=uncompressed"
    cli("build", "-t", "app:1", "--cache-to", spec, str(context))

    (entry,) = json.loads((cache / "index.json").read_text())["manifests"]
    assert entry["mediaType"] == OCI_MANIFEST
    manifest = json.loads((cache / "blobs/sha256" / entry["digest"][7:]).read_text())
    assert manifest["config"]["mediaType"] == CACHE_TYPE
    assert {layer["mediaType"] for layer in manifest["layers"]} == {"application/vnd.oci.image.layer.v1.tar"}
    _rebuild_all_cached(other_cli, f"type=local,src={cache}", context)


def _shape(doc: dict) -> dict:
    """What a cache document's layout is, apart from its contents: its media type, where the cache config
    sits, the layers' media types and annotation keys (BuildKit's own ``buildkit/createdat`` aside)."""
    if "manifests" in doc:
        *layers, config = doc["manifests"]
        where = "last entry"
    else:
        layers, config, where = doc["layers"], doc["config"], "config"
    return {
        "mediaType": doc["mediaType"],
        "cache config": where
        if config["mediaType"] in (CACHE_TYPE, "application/vnd.buildkit.cacheconfig.v0")
        else None,
        "layer types": sorted({layer["mediaType"] for layer in layers}),
        "layer annotations": sorted(
            {key for layer in layers for key in layer.get("annotations", {})} - {"buildkit/createdat"}
        ),
    }


@pytest.mark.parametrize(
    "options",
    [
        "(defaults)",
        "image-manifest=true",
        "oci-mediatypes=false",
        "image-manifest=true,compression=zstd,force-compression=true",
    ],
)
def test_each_layout_has_the_shape_buildkit_gives_it(cli, registry, context, options):
    ref = f"{registry.domain}/ci/app:cache"
    extra = "" if options == "(defaults)" else f",{options}"
    cli("build", "--cache-to", f"type=registry,ref={ref}{extra}", str(context))
    buildkit = json.loads(REFERENCE.read_text())["layouts"][options]
    assert _shape(_skopeo_raw(ref)) == _shape(buildkit)


@pytest.mark.parametrize("options", ["", ",image-manifest=true"])
def test_a_directory_s_index_json_names_the_document_as_buildkit_s_does(cli, context, tmp_path, options):
    cache = tmp_path / "ci-cache"
    cli("build", "--cache-to", f"type=local,dest={cache},mode=max{options}", str(context))
    (entry,) = json.loads((cache / "index.json").read_text())["manifests"]
    (buildkit,) = json.loads(REFERENCE.read_text())["local index.json"][
        f"type=local,dest=DIR,mode=max{options}"
    ]["manifests"]
    assert (entry["mediaType"], entry["annotations"]) == (buildkit["mediaType"], buildkit["annotations"])
