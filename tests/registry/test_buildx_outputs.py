"""buildx's image output fields against a real registry, each checked with skopeo and umoci: several
``name=`` references, ``push=true``, ``compression``/``compression-level``/``force-compression``,
``oci-mediatypes=false``, ``annotation.*`` and ``--annotation``, and the digest ``--push`` prints."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.build.conftest import write_context

BUILDFILE = "FROM busybox:latest\nRUN seq 1 20000 > /numbers\nCOPY note.txt /note.txt\n"
GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


def _context(tmp_path: Path) -> Path:
    return write_context(tmp_path / "ctx", BUILDFILE, {"note.txt": "a note\n"})


def _raw(ref: str) -> tuple[dict, str]:
    """The manifest (or index) the registry holds for ``ref``, and its digest, as skopeo reads them."""
    raw = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"],
        capture_output=True,
        check=True,
    ).stdout
    digest = subprocess.run(
        ["skopeo", "manifest-digest", "/dev/stdin"], input=raw, capture_output=True, check=True
    ).stdout.decode()
    return json.loads(raw), digest.strip()


def _unpack(ref: str, tmp_path: Path) -> Path:
    """``ref`` copied from the registry into an OCI layout by skopeo and unpacked by umoci; its rootfs.
    (umoci 0.4 reads gzip layers only, so skopeo recompresses zstd ones: it decodes them on the way.)"""
    tmp_path.mkdir(parents=True, exist_ok=True)
    layout = tmp_path / "layout"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--src-tls-verify=false",
            "--dest-compress-format=gzip",
            f"docker://{ref}",
            f"oci:{layout}:x",
        ],  # fmt: skip
        capture_output=True,
        check=True,
    )
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:x", str(bundle)], capture_output=True, check=True)
    return bundle / "rootfs"


def test_image_output_with_several_names_pushes_zstd_with_annotations(cli, busybox, registry, tmp_path):
    first, second = f"{registry.domain}/team/a:1", f"{registry.domain}/team/b:2"
    metadata = tmp_path / "metadata.json"
    result = cli(
        "build", str(_context(tmp_path)), "--annotation", "org.example.from-flag=yes",
        "--metadata-file", str(metadata),
        "-o", f'type=image,"name={first},{second}",push=true,compression=zstd,annotation.org.example.k=v',
        "--provenance=false",  # the image manifest itself, not an index with its provenance (test_attestations)
    )  # fmt: skip
    manifest, digest = _raw(first)
    assert _raw(second)[1] == digest
    # the build's two layers are zstd; busybox's layer keeps its gzip (no force-compression), as BuildKit
    assert [layer["mediaType"] for layer in manifest["layers"]] == [GZIP, ZSTD, ZSTD]
    assert manifest["annotations"] == {"org.example.k": "v", "org.example.from-flag": "yes"}
    # the digest printed for each push is the one the registry serves
    assert f"pushing manifest for {first}@{digest}" in result.err
    assert f"pushing manifest for {second}@{digest}" in result.err
    assert json.loads(metadata.read_text())["containerimage.digest"] == digest
    # the store holds the same image under both names, without -t
    assert json.loads(cli("inspect", first).out)[0]["Digest"] == digest
    rootfs = _unpack(first, tmp_path)
    assert (rootfs / "note.txt").read_text() == "a note\n"
    assert (rootfs / "numbers").read_text().splitlines()[-1] == "20000"


def test_force_compression_uncompressed_and_docker_media_types(cli, busybox, registry, tmp_path):
    name = f"{registry.domain}/team/plain:1"
    cli(
        "build", str(_context(tmp_path)),
        "-o", f"type=registry,name={name},compression=uncompressed,force-compression=true,oci-mediatypes=false",
        "--provenance=false",
    )  # fmt: skip
    manifest, _digest = _raw(name)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert {layer["mediaType"] for layer in manifest["layers"]} == {
        "application/vnd.docker.image.rootfs.diff.tar"
    }
    assert (_unpack(name, tmp_path) / "note.txt").read_text() == "a note\n"


def test_compression_level_changes_the_layer_not_the_content(cli, busybox, registry, tmp_path):
    context = _context(tmp_path)
    low, high = f"{registry.domain}/team/lvl:1", f"{registry.domain}/team/lvl:9"
    no_attestation = "--provenance=false"
    cli(
        "build",
        str(context),
        no_attestation,
        "-o",
        f"type=registry,name={low},compression=gzip,compression-level=1",
    )
    cli(
        "build",
        str(context),
        no_attestation,
        "-o",
        f"type=registry,name={high},compression=gzip,compression-level=9",
    )
    fast, small = _raw(low)[0]["layers"][1], _raw(high)[0]["layers"][1]
    assert fast["mediaType"] == small["mediaType"] == GZIP
    # the level is applied: the same layer, compressed otherwise (ISA-L's level 1 and 3)
    assert small["digest"] != fast["digest"] and small["size"] != fast["size"]
    assert (_unpack(low, tmp_path / "low") / "numbers").read_text().count("\n") == 20000
    assert (_unpack(high, tmp_path) / "numbers").read_text().count("\n") == 20000


def test_push_prints_the_pushed_digest(cli, busybox, registry, tmp_path):
    name = f"{registry.domain}/team/pushed:1"
    result = cli("build", "--push", "-t", name, str(_context(tmp_path)))
    _manifest, digest = _raw(name)
    assert re.search(rf"pushing manifest for {re.escape(name)}@{digest} done", result.err)


def test_multi_platform_index_and_descriptor_annotations(cli, registry, tmp_path):
    name = f"{registry.domain}/team/multi:1"
    context = write_context(tmp_path / "m", "FROM scratch\nCOPY note.txt /note.txt\n", {"note.txt": "n\n"})
    cli(
        "build", "--platform", "linux/amd64,linux/arm64", "-t", name, "--push", str(context),
        "--annotation", "index:org.example.index=i",
        "--annotation", "manifest-descriptor[linux/arm64]:org.example.arm=only",
        "--annotation", "manifest:org.example.m=all",
    )  # fmt: skip
    index, _digest = _raw(name)
    assert index["annotations"] == {"org.example.index": "i"}
    by_arch = {entry["platform"]["architecture"]: entry for entry in index["manifests"]}
    assert by_arch["arm64"]["annotations"] == {"org.example.arm": "only"}
    assert "annotations" not in by_arch["amd64"]
    manifest, _ = _raw(f"{name.rsplit(':', 1)[0]}@{by_arch['amd64']['digest']}")
    assert manifest["annotations"] == {"org.example.m": "all"}


def test_index_annotation_on_one_platform_is_refused(cli, busybox, tmp_path):
    result = cli("build", "--annotation", "index:k=v", "-t", "x:1", str(_context(tmp_path)), check=False)
    assert result.returncode == 2
    assert "index annotations not supported for single platform export" in result.err


def test_multi_platform_with_docker_media_types_is_a_manifest_list(cli, registry, tmp_path):
    name = f"{registry.domain}/team/list:1"
    context = write_context(tmp_path / "m", "FROM scratch\nCOPY note.txt /note.txt\n", {"note.txt": "n\n"})
    cli(
        "build", "--platform", "linux/amd64,linux/arm64", str(context),
        "-o", f"type=registry,name={name},oci-mediatypes=false",
    )  # fmt: skip
    index, _digest = _raw(name)
    assert index["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    docker_manifest = "application/vnd.docker.distribution.manifest.v2+json"
    # two images, then their default provenance, in Docker media types too (as BuildKit without OCI types)
    assert [entry["mediaType"] for entry in index["manifests"]] == [docker_manifest] * 4
    manifest, _ = _raw(f"{name.rsplit(':', 1)[0]}@{index['manifests'][1]['digest']}")
    assert manifest["mediaType"] == docker_manifest
    attestation, _ = _raw(f"{name.rsplit(':', 1)[0]}@{index['manifests'][3]['digest']}")
    assert attestation["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert attestation["layers"][0]["mediaType"] == "application/vnd.in-toto+json"
    assert (
        index["manifests"][3]["annotations"]["vnd.docker.reference.digest"] == index["manifests"][1]["digest"]
    )
