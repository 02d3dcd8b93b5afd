"""``pybuild load`` of OCI layouts and docker-archives: names, platforms, and what it refuses."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from builder.platforms import Platform
from builder.store import Store


@pytest.fixture
def layout(tmp_path, cli, busybox) -> Path:
    """busybox saved as an OCI layout directory."""
    out = tmp_path / "layout"
    assert cli("save", "--format", "oci-dir", "busybox", "-o", str(out)).code == 0
    return out


@pytest.fixture
def fresh(tmp_path, capsys):
    """``fresh(*args)`` runs pybuild against a second, empty store; returns (code, out, err)."""
    from builder.cli import main

    root = tmp_path / "fresh"

    def run(*args: str):
        capsys.readouterr()
        code = main(["--root", str(root), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    run.root = root
    return run


def write_blob(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return digest


def index_of(layout: Path) -> dict:
    return json.loads((layout / "index.json").read_text())


def test_oci_layout_round_trip_keeps_digests_and_names(layout, fresh, cli) -> None:
    index = index_of(layout)
    entry = index["manifests"][0]
    assert entry["annotations"] == {
        "io.containerd.image.name": "docker.io/library/busybox:latest",
        "org.opencontainers.image.ref.name": "latest",
    }
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    code, out, _ = fresh("load", "-i", str(layout))
    assert (code, out) == (0, "Loaded image: busybox:latest\n")
    _, shown, _ = fresh("inspect", "-f", "{{.Digest}}", "busybox")
    assert shown.strip() == entry["digest"]


def test_oci_tar_loads(tmp_path, cli, busybox, fresh) -> None:
    target = tmp_path / "image.oci.tar"
    assert cli("save", "--format", "oci", "busybox", "-o", str(target)).code == 0
    with tarfile.open(target) as tar:
        assert {"oci-layout", "index.json"} <= set(tar.getnames())
    assert fresh("load", "-i", str(target))[:2] == (0, "Loaded image: busybox:latest\n")


def test_compressed_docker_archive_loads(tmp_path, cli, busybox, fresh) -> None:
    plain = tmp_path / "image.tar"
    assert cli("save", "busybox", "-o", str(plain)).code == 0
    packed = tmp_path / "image.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), 1))
    assert fresh("load", "-i", str(packed))[:2] == (0, "Loaded image: busybox:latest\n")
    _, shown, _ = fresh("inspect", "-f", "{{.Id}}", "busybox")
    assert shown.strip() == busybox


def test_a_bare_tag_in_ref_name_leaves_the_image_unnamed(layout, fresh) -> None:
    index = index_of(layout)
    index["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    (layout / "index.json").write_text(json.dumps(index))
    code, out, _ = fresh("load", "-i", str(layout))
    assert code == 0 and out.startswith("Loaded image ID: sha256:")
    assert fresh("images", "-q")[1] == ""


def test_full_reference_in_ref_name_names_the_image(layout, fresh) -> None:
    index = index_of(layout)
    index["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "example.com/team/app:3"}
    (layout / "index.json").write_text(json.dumps(index))
    assert fresh("load", "-i", str(layout))[1] == "Loaded image: example.com/team/app:3\n"


def test_multi_platform_index_loads_the_requested_platform(layout, fresh) -> None:
    entry = index_of(layout)["manifests"][0]
    host = Platform.host()
    missing = "sha256:" + "0" * 64  # the other platform's manifest is absent: it must never be read
    nested = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": entry["mediaType"],
                "digest": missing,
                "size": 10,
                "platform": {"os": "linux", "architecture": "s390x"},
            },
            {
                **{k: entry[k] for k in ("mediaType", "digest", "size")},
                "platform": {"os": host.os, "architecture": host.architecture},
            },
        ],
    }
    data = json.dumps(nested).encode()
    index_digest = write_blob(layout, data)
    top = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": nested["mediaType"],
                "digest": index_digest,
                "size": len(data),
                "annotations": entry["annotations"],
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(top))

    code, _, err = fresh("load", "--platform", "linux/riscv64", "-i", str(layout))
    assert code == 1 and "no image for platform linux/riscv64" in err
    assert fresh("load", "-i", str(layout))[:2] == (0, "Loaded image: busybox:latest\n")
    assert fresh("inspect", "-f", "{{.Digest}}", "busybox")[1].strip() == entry["digest"]


def test_a_damaged_layer_blob_is_refused_and_nothing_is_tagged(layout, fresh) -> None:
    manifest_digest = index_of(layout)["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_digest[7:]).read_text())
    blob = layout / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(blob, 0o644)
    blob.write_bytes(bytes(data))

    code, out, err = fresh("load", "-i", str(layout))
    assert code == 1 and out == ""
    assert "Traceback" not in err and manifest["layers"][0]["digest"] in err
    store = Store.open(fresh.root)
    assert store.tags() == {}
    assert not store.has_blob(manifest["layers"][0]["digest"])
    assert store.layers() == []


def docker_archive(tmp_path: Path, cli, name: str = "busybox") -> Path:
    out = tmp_path / "unpacked"
    archive = tmp_path / "image.tar"
    assert cli("save", name, "-o", str(archive)).code == 0
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    return out


def test_a_layer_that_does_not_match_its_diff_id_is_refused(tmp_path, cli, busybox, fresh) -> None:
    out = docker_archive(tmp_path, cli)
    manifest = json.loads((out / "manifest.json").read_text())
    layer = out / manifest[0]["Layers"][0]
    other = io.BytesIO()
    with tarfile.open(fileobj=other, mode="w") as tar:
        info = tarfile.TarInfo("intruder")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    layer.write_bytes(other.getvalue())

    code, _, err = fresh("load", "-i", str(out))
    assert code == 1 and "the image config says" in err
    store = Store.open(fresh.root)
    assert store.tags() == {} and store.layers() == []


def test_archive_paths_leaving_the_archive_are_refused(tmp_path, cli, busybox, fresh) -> None:
    out = docker_archive(tmp_path, cli)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest[0]["Layers"] = ["../../../etc/passwd"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = fresh("load", "-i", str(out))
    assert code == 1 and "leaves the archive" in err


def test_neither_layout_nor_archive(tmp_path, fresh) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = fresh("load", "-i", str(empty))
    assert code == 1 and "neither an OCI layout" in err
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    code, _, err = fresh("load", "-i", str(junk))
    assert code == 1 and "not a readable tar archive" in err
