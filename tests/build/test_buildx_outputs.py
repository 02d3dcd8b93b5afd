"""``-o`` as buildx users write it, without a registry: archives streamed to stdout (``dest=-``, ``-o -``),
``type=image,name=…``, ``rewrite-timestamp``, and the fields and values pybuild refuses by name."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.build.conftest import REPO, write_context

BUILDFILE = "FROM busybox:latest\nRUN echo made > /made\nCOPY note.txt /note.txt\n"


def _context(tmp_path: Path) -> Path:
    return write_context(tmp_path / "ctx", BUILDFILE, {"note.txt": "a note\n"})


def test_docker_archive_on_stdout_loads_in_podman_and_nothing_else_is_written(pybuild, tmp_path):
    from tests.support.images import Podman

    result = pybuild("-t", "piped:1", "-o", "type=docker,dest=-", str(_context(tmp_path)))
    assert not (REPO / "-").exists()  # the working directory: no file named "-"
    archive = tmp_path / "piped.tar"
    archive.write_bytes(result.stdout)
    podman = Podman(tmp_path / "podman")
    try:
        podman.run("load", "-i", str(archive))
        assert podman.run("run", "--rm", "docker.io/library/piped:1", "cat", "/note.txt").stdout == "a note\n"
    finally:
        podman.cleanup()


def test_oci_archive_on_stdout(pybuild, tmp_path):
    result = pybuild("-o", "type=oci,dest=-", str(_context(tmp_path)))
    archive = tmp_path / "image.tar"
    archive.write_bytes(result.stdout)
    inspect = subprocess.run(["skopeo", "inspect", f"oci-archive:{archive}"], capture_output=True, text=True)
    assert inspect.returncode == 0, inspect.stderr
    assert len(json.loads(inspect.stdout)["Layers"]) == 3


@pytest.mark.parametrize("spec", ["-", "type=tar,dest=-"])
def test_rootfs_tar_on_stdout(pybuild, tmp_path, spec):
    result = pybuild("-o", spec, str(_context(tmp_path)))
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as tar:
        assert tar.extractfile("note.txt").read() == b"a note\n"
        assert tar.extractfile("made").read() == b"made\n"
        assert tar.getmember("bin/busybox").isfile()


def test_quiet_with_stdout_output_keeps_stdout_the_archive(pybuild, tmp_path):
    result = pybuild("-q", "-o", "-", str(_context(tmp_path)))
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as tar:
        assert "note.txt" in tar.getnames()


def test_image_output_name_tags_the_store_without_t(pybuild, tmp_path):
    pybuild("-o", 'type=image,"name=first:1,second:2"', str(_context(tmp_path)))
    assert pybuild("run", "first:1", "cat", "/note.txt").out == "a note\n"
    assert pybuild("run", "second:2", "cat", "/made").out == "made\n"


def test_rewrite_timestamp_with_source_date_epoch(pybuild, tmp_path):
    out = tmp_path / "rootfs.tar"
    context = _context(tmp_path)
    pybuild(
        "--build-arg", "SOURCE_DATE_EPOCH=1000000000",
        "-o", f"type=oci,dest={tmp_path / 'oci.tar'},rewrite-timestamp=true", "-o", f"type=tar,dest={out}",
        str(context),
    )  # fmt: skip
    with tarfile.open(out) as tar:
        assert tar.getmember("note.txt").mtime == 1000000000
        assert tar.getmember("made").mtime == 1000000000
    refused = pybuild(
        "-o", f"type=oci,dest={tmp_path / 'x.tar'},rewrite-timestamp=true", str(context), check=False
    )
    assert refused.returncode == 2
    assert "rewrite-timestamp=true needs SOURCE_DATE_EPOCH" in refused.err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("type=local,dest=-", "dest cannot be stdout for local exporter"),
        ("type=image,unpack=true", "option 'unpack' is not supported"),
        ("type=image,compression=estargz", "compression 'estargz' is not supported"),
        ("type=image,compression=zstd,compression-level=40", "compression-level 40 is out of range for zstd"),
        ("type=image,name=a:1,b:2", "'b:2' is not key=value"),
        ("type=cacheonly", "unsupported output type 'cacheonly'"),
        ("type=docker", "type=docker needs dest=PATH"),
        ("type=docker,dest=x.tar,compression=zstd", "option 'compression' is not supported"),
        ("type=docker,dest=x.tar,annotation.k=v", "a docker-archive has no manifest to annotate"),
    ],
)
def test_refused_output_fields_are_named(pybuild, tmp_path, spec, message):
    result = pybuild("-o", spec, str(_context(tmp_path)), check=False)
    assert result.returncode == 2
    assert message in result.err and "Traceback" not in result.err


def test_two_outputs_on_stdout_are_refused(pybuild, tmp_path):
    result = pybuild("-o", "-", "-o", "type=oci,dest=-", str(_context(tmp_path)), check=False)
    assert result.returncode == 2 and "only one output can be written to stdout" in result.err


def test_bad_annotation_is_refused(pybuild, tmp_path):
    result = pybuild("--annotation", "layer:k=v", str(_context(tmp_path)), check=False)
    assert result.returncode == 2 and "unknown type 'layer'" in result.err


def test_descriptor_annotations_in_an_oci_layout(pybuild, tmp_path):
    layout = tmp_path / "layout"
    pybuild(
        "-o", f"type=oci,dest={layout},tar=false", "--annotation", "manifest-descriptor:org.example.d=1",
        str(_context(tmp_path)),
    )  # fmt: skip
    (entry,) = json.loads((layout / "index.json").read_text())["manifests"]
    assert entry["annotations"] == {"org.example.d": "1"}
    manifest = json.loads((layout / "blobs" / "sha256" / entry["digest"][7:]).read_text())
    assert "annotations" not in manifest
    refused = pybuild("--annotation", "manifest-descriptor:k=v", str(_context(tmp_path)), check=False)
    assert refused.returncode == 2 and "manifest-descriptor annotations need an index" in refused.err
