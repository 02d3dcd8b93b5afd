"""Lazy blobs: a build whose image stays in the store compresses nothing; the compressed blob of a layer is
made when something sends the image out (a push, ``-o type=oci``, ``save``, a cache export), once, then
kept; what is sent is what the build sent before (gzip, the same digests with SOURCE_DATE_EPOCH), read back
by skopeo and umoci; a layer damaged on disk is refused, never sent as its tar."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path

from tests.build.conftest import write_context

BUILDFILE = """\
FROM busybox:latest
COPY hello.txt /hello.txt
RUN seq 1 20000 > /numbers && mkdir -p /d && echo made > /d/made
"""
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
TAR = "application/vnd.oci.image.layer.v1.tar"
GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
REF_NAME = "org.opencontainers.image.ref.name"


def _context(tmp_path: Path) -> Path:
    return write_context(tmp_path / "ctx", BUILDFILE, {"hello.txt": "hello\n"})


def _blob_files(store: Path) -> set[str]:
    return {entry.name for entry in (store / "blobs" / "sha256").iterdir()}


def _manifest(cli, ref: str) -> dict:
    """The manifest the store holds for ``ref``."""
    digest = json.loads(cli("inspect", ref).out)[0]["Digest"]
    return json.loads((cli.root / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes())


def _oci_manifest(archive: Path) -> tuple[str, dict]:
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))
        digest = index["manifests"][0]["digest"]
        return digest, json.load(tar.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}"))


def test_a_build_kept_in_the_store_compresses_nothing(cli, busybox, tmp_path):
    before = _blob_files(cli.root)
    cli("build", "-t", "app:1", str(_context(tmp_path)))
    manifest = _manifest(cli, "app:1")
    config = json.loads((cli.root / "blobs" / "sha256" / manifest["config"]["digest"][7:]).read_bytes())
    made = manifest["layers"][1:]
    # the build's own layers are uncompressed layers named by their diff_ids, kept only unpacked
    assert [layer["mediaType"] for layer in made] == [TAR, TAR]
    assert [layer["digest"] for layer in made] == config["rootfs"]["diff_ids"][1:]
    new = _blob_files(cli.root) - before
    assert new == {manifest["config"]["digest"][7:], json.loads(cli("inspect", "app:1").out)[0]["Digest"][7:]}
    # the image is whole: it runs, and the store verifies
    assert cli("run", "--rm", "app:1", "cat", "/d/made").out == "made\n"
    cli("store", "verify")


def test_an_export_compresses_once_and_sends_what_a_build_sent_before(
    cli, other_cli, busybox, busybox_dir, tmp_path
):
    context = _context(tmp_path)
    cli("build", "-t", "app:1", str(context), env=EPOCH)
    first = tmp_path / "first.tar"
    cli("build", "-t", "app:1", "-o", f"type=oci,dest={first}", str(context), env=EPOCH)
    after_first = _blob_files(cli.root)
    second = tmp_path / "second.tar"
    cli("build", "-o", f"type=oci,dest={second}", str(context), env=EPOCH)
    # the compressed blobs were made once and kept: the second export makes no blob
    assert _blob_files(cli.root) == after_first
    digest, manifest = _oci_manifest(first)
    assert _oci_manifest(second)[0] == digest
    assert [layer["mediaType"] for layer in manifest["layers"]] == [GZIP, GZIP, GZIP]
    # umoci (an independent reader) unpacks it and checks every blob against its digest
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(first) as tar:
        tar.extractall(layout, filter="tar")
    name = json.loads((layout / "index.json").read_text())["manifests"][0]["annotations"][REF_NAME]
    bundle = tmp_path / "bundle"
    subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:{name}", str(bundle)], capture_output=True, check=True
    )
    assert (bundle / "rootfs" / "numbers").read_text().splitlines()[-1] == "20000"
    # a second store, its image exported straight away, gives the same layer blobs: compression stays
    # reproducible (its base, imported at another time, is another image)
    other = tmp_path / "other.tar"
    other_cli("import", str(busybox_dir), "busybox:latest")
    other_cli("build", "-o", f"type=oci,dest={other}", str(context), env=EPOCH)
    assert _oci_manifest(other)[1]["layers"] == manifest["layers"]


def test_push_of_a_stored_image_sends_gzip_layers_skopeo_reads(cli, layered, registry, tmp_path):
    assert {layer["mediaType"] for layer in _manifest(cli, layered)["layers"][1:]} == {TAR}
    ref = f"{registry.domain}/lazy/app:1"
    pushed = cli("push", "-q", layered, ref).out.strip()
    raw = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"], capture_output=True, check=True
    ).stdout
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == pushed
    assert {layer["mediaType"] for layer in json.loads(raw)["layers"]} == {GZIP}
    layout = tmp_path / "layout"
    subprocess.run(
        ["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{layout}:x"],
        capture_output=True,
        check=True,
    )
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:x", str(bundle)], capture_output=True, check=True)
    assert (bundle / "rootfs" / "built.txt").read_text() == "built\n"


def test_a_layer_changed_on_disk_is_refused_not_sent(cli, busybox, tmp_path):
    cli("build", "-t", "app:1", str(_context(tmp_path)))
    top = _manifest(cli, "app:1")["layers"][-1]["digest"]
    damaged = cli.root / "layers" / "sha256" / top.removeprefix("sha256:") / "d" / "made"
    damaged.write_text("changed\n")
    result = cli("save", "--format", "oci", "-o", str(tmp_path / "out.tar"), "app:1", check=False)
    assert result.returncode != 0
    assert f"layer {top} no longer makes its own tar" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "out.tar").exists()


def test_a_cache_export_sends_compressed_layers(cli, busybox, tmp_path):
    cache = tmp_path / "cache"
    cli("build", "--cache-to", f"type=local,dest={cache},mode=max", str(_context(tmp_path)))
    index = json.loads((cache / "index.json").read_text())
    document = json.loads((cache / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_bytes())
    named = document.get("layers", []) + document.get("manifests", [])
    layers = [entry for entry in named if entry["mediaType"].startswith(TAR)]
    assert len(layers) == 2 and {layer["mediaType"] for layer in layers} == {GZIP}
    for layer in layers:
        blob = cache / "blobs" / "sha256" / layer["digest"][7:]
        assert os.path.getsize(blob) == layer["size"]
        with open(blob, "rb") as f:
            assert f.read(2) == b"\x1f\x8b"


def test_a_push_by_digest_names_the_digest_the_image_goes_out_as(cli, layered, registry):
    local = json.loads(cli("inspect", layered).out)[0]["Digest"]
    result = cli("push", layered, f"{registry.domain}/lazy/pin@{local}", check=False)
    assert result.returncode == 2
    assert "goes out with its layers compressed, as sha256:" in result.err and "Traceback" not in result.err
    sent = result.err.split("compressed, as ")[1].split(":", 2)
    sent = f"{sent[0]}:{sent[1]}"
    assert cli("push", "-q", layered, f"{registry.domain}/lazy/pin@{sent}").out.strip() == sent


def test_an_explicit_compression_stays_with_the_stored_image_and_a_later_push_sends_it(
    cli, busybox, registry, tmp_path
):
    cli("build", "--compression", "zstd", "-t", "app:z", str(_context(tmp_path)))
    made = _manifest(cli, "app:z")["layers"][1:]
    assert {layer["mediaType"] for layer in made} == {ZSTD}
    ref = f"{registry.domain}/lazy/zstd:1"
    pushed = cli("push", "-q", "app:z", ref).out.strip()
    assert pushed == json.loads(cli("inspect", "app:z").out)[0]["Digest"]  # nothing left to compress
    raw = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"], capture_output=True, check=True
    ).stdout
    assert [layer["mediaType"] for layer in json.loads(raw)["layers"]][1:] == [ZSTD, ZSTD]
