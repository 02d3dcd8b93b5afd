"""The image commands as a user runs them: import, images, inspect, history, tag, rmi, save, load."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from builder.platforms import Platform
from builder.store import Store
from tests.support.images import pybuild


def inspect(cli, name: str) -> dict:
    result = cli("inspect", name)
    assert result.code == 0, result.err
    return json.loads(result.out)[0]


def test_import_directory_makes_a_one_layer_image(cli, busybox, rootfs, store_root) -> None:
    assert busybox.startswith("sha256:")
    doc = inspect(cli, "busybox")
    assert doc["Id"] == busybox
    assert doc["RepoTags"] == ["busybox:latest"]
    assert len(doc["RootFS"]["diff_ids"]) == 1 and len(doc["Manifest"]["layers"]) == 1
    assert doc["Manifest"]["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert doc["History"][0]["comment"] == f"Imported from {rootfs}"
    layer = Store.open(store_root).layer_path(doc["RootFS"]["diff_ids"][0])
    assert (layer / "bin" / "busybox").read_bytes() == Path("/bin/busybox").read_bytes()
    assert (layer / "bin" / "sh").readlink() == Path("busybox")


def test_import_is_deterministic_for_the_same_tree(cli, busybox, rootfs) -> None:
    again = cli("import", str(rootfs), "again:1")
    assert again.code == 0
    assert inspect(cli, "again:1")["RootFS"] == inspect(cli, "busybox")["RootFS"]


def test_import_tar_from_stdin_with_changes_and_platform(tmp_path, rootfs, store_root, cli) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(rootfs, arcname=".")
    result = pybuild(
        store_root,
        "import",
        "--change",
        'CMD ["sh", "-c", "echo hi"]',
        "-c",
        "ENV A=1",
        "--platform",
        "linux/arm64",
        "-m",
        "base image",
        "-",
        "tarred:v2",
        stdin=buffer.getvalue(),
    )
    doc = inspect(cli, "tarred:v2")
    assert doc["Id"] == result.stdout.decode().strip()
    assert doc["Architecture"] == "arm64"
    assert doc["Config"] == {"Cmd": ["sh", "-c", "echo hi"], "Env": ["A=1"]}
    assert doc["History"][0]["comment"] == "base image"
    layer = Store.open(store_root).layer_path(doc["RootFS"]["diff_ids"][0])
    assert (layer / "bin" / "busybox").stat().st_size == Path("/bin/busybox").stat().st_size


def test_import_rejects_a_bad_change_before_work(cli, rootfs) -> None:
    result = cli("import", "-c", "RUN make", str(rootfs), "x")
    assert result.code == 2
    assert "unsupported instruction RUN" in result.err
    assert cli("images", "-q").out == ""


def test_images_lists_tags_newest_first(cli, busybox, rootfs) -> None:
    cli("tag", "busybox", "ghcr.io/o/app:1")
    result = cli("images")
    lines = result.out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    rows = sorted(line.split()[:3] for line in lines[1:])
    assert rows == [["busybox", "latest", busybox[7:19]], ["ghcr.io/o/app", "1", busybox[7:19]]]
    assert lines[1].split()[-1].endswith("MB")
    assert cli("images", "-q").out.split() == [busybox[7:19]]
    assert cli("images", "--no-trunc", "-q").out.split() == [busybox]
    assert len(cli("images", "busybox").out.splitlines()) == 2


def test_history_shows_the_import(cli, busybox, rootfs) -> None:
    lines = cli("history", "busybox").out.splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(busybox[7:19])
    assert lines[1].endswith(f"Imported from {rootfs}")
    assert cli("history", "-q", "busybox").out.split() == [busybox[7:19]]


def test_inspect_by_id_prefix_digest_and_template(cli, busybox) -> None:
    doc = inspect(cli, "busybox")
    assert inspect(cli, busybox[7:15])["Digest"] == doc["Digest"]
    assert inspect(cli, busybox)["Digest"] == doc["Digest"]
    assert inspect(cli, doc["Digest"])["Id"] == busybox
    assert inspect(cli, f"busybox@{doc['Digest']}")["Id"] == busybox
    host = Platform.host()
    shown = cli("inspect", "-f", "{{.Os}}/{{.Architecture}} {{json .Config}} {{.Nope}}", "busybox").out
    assert shown == f"{host.os}/{host.architecture} {{}} <no value>\n"
    assert cli("inspect", "-f", "{{.Id}}", "busybox").out.strip() == busybox


def test_unknown_image_is_a_clear_error(cli, busybox) -> None:
    for command in (
        ["inspect", "nothere"],
        ["history", "nothere"],
        ["tag", "nothere", "x"],
        ["save", "nothere"],
    ):
        result = cli(*command)
        assert result.code == 1, command
        assert "error: image not found: nothere" in result.err
        assert "Traceback" not in result.err


def test_tag_and_rmi(cli, busybox, store_root) -> None:
    assert cli("tag", busybox[7:19], "mine:1").code == 0
    assert inspect(cli, "mine:1")["Id"] == busybox
    assert cli("tag", "busybox", f"x@sha256:{'a' * 64}").code == 2
    digest = inspect(cli, "busybox")["Digest"]

    refused = cli("rmi", busybox[7:19])
    assert refused.code == 1 and "referenced by 2 names" in refused.err
    assert cli("rmi", "mine:1", "nothere").out == "Untagged: mine:1\n"
    assert cli("images", "-q").out.split() == [busybox[7:19]]
    cli("tag", "busybox", "mine:2")
    assert cli("rmi", "-f", busybox).out.splitlines() == [
        "Untagged: busybox:latest",
        "Untagged: mine:2",
        f"Deleted: {busybox}",  # as docker: no name is left on the image, nor is it found by its ID
    ]
    assert cli("images", "-q").out == ""
    assert "image not found" in cli("inspect", busybox).err
    assert Store.open(store_root).has_blob(digest)  # blobs stay until garbage collection


def test_save_to_stdout_and_load_from_stdin(tmp_path, cli, busybox, store_root) -> None:
    archive = pybuild(store_root, "save", "busybox").stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == ["docker.io/library/busybox:latest"]
    other = tmp_path / "other"
    loaded = pybuild(other, "load", stdin=archive)
    assert loaded.stdout.decode() == "Loaded image: busybox:latest\n"
    shown = json.loads(pybuild(other, "inspect", "busybox").stdout)[0]
    assert shown["Id"] == busybox


def test_failed_save_leaves_no_file(tmp_path, cli, busybox) -> None:
    target = tmp_path / "out.tar"
    assert cli("save", "busybox", "nothere", "-o", str(target)).code == 1
    assert not target.exists()
    assert list(tmp_path.glob(".out.tar*")) == []


def test_save_several_images_shares_blobs(tmp_path, cli, busybox) -> None:
    cli("tag", "busybox", "second:1")
    target = tmp_path / "both.tar"
    assert cli("save", "busybox", "second:1", "-o", str(target)).code == 0
    with tarfile.open(target) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert len(manifest) == 1  # one image with two names
    assert sorted(manifest[0]["RepoTags"]) == ["docker.io/library/busybox:latest", "docker.io/library/second:1"]
    assert len([n for n in names if n.endswith("layer.tar")]) == 1
