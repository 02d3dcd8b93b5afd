"""Pull and push against a real ``docker-registry``: round trips, re-push, cross-repository mounts, tags,
digests, chunked uploads, indexes."""

from __future__ import annotations

import json

import pytest

from builder.oci import media
from builder.oci.config import Platform
from builder.oci.image import load_image
from builder.oci.manifest import build_index, descriptor
from builder.registry.client import RegistryClient
from builder.registry.pull import pull_image
from builder.registry.push import push_image
from builder.registry.repository import Repository
from builder.store import Store

UPLOADS = r"/blobs/uploads/"


def _inspect(cli, ref: str) -> dict:
    return json.loads(cli("inspect", ref).out)[0]


def test_push_then_pull_into_an_empty_store_gives_the_same_image_and_it_runs(cli, other_cli, layered, registry):
    ref = f"{registry.domain}/team/app:1"
    pushed = cli("push", layered, ref)
    source = _inspect(cli, layered)
    assert (
        pushed.out.strip() == f"1: digest: {source['Digest']} size: {len(json.dumps(source['Manifest']))}"
        or (source["Digest"] in pushed.out)
    )
    pulled = other_cli("pull", ref)
    assert f"Digest: {source['Digest']}" in pulled.out
    assert "Downloaded newer image" in pulled.out
    copy = _inspect(other_cli, ref)
    assert (copy["Digest"], copy["Id"], copy["RootFS"]) == (source["Digest"], source["Id"], source["RootFS"])
    run = other_cli("run", ref)
    assert run.out == "hello from the context\n"
    assert other_cli("run", ref, "cat", "/built.txt").out == "built\n"
    again = other_cli("pull", ref)
    assert "Image is up to date" in again.out


def test_repush_uploads_no_blob_and_a_push_to_another_repository_mounts_every_blob(cli, layered, proxy):
    first = cli("push", layered, f"{proxy.domain}/a/app:1")
    image_blobs = len(_inspect(cli, layered)["Manifest"]["layers"]) + 1
    assert len(proxy.requests_matching("PUT", r"/blobs/uploads/.*digest=")) == image_blobs
    proxy.log.clear()
    second = cli("push", layered, f"{proxy.domain}/a/app:1")
    assert proxy.requests_matching("POST", UPLOADS) == []
    assert proxy.requests_matching("PUT", UPLOADS) == []
    assert second.out == first.out
    assert second.err.count("layer already exists") == image_blobs
    proxy.log.clear()
    cli("push", layered, f"{proxy.domain}/b/app:1")
    mounts = proxy.requests_matching("POST", r"mount=sha256.*from=a%2Fapp")
    assert len(mounts) == image_blobs and all(entry.status == 201 for entry in mounts)
    assert proxy.requests_matching("PUT", UPLOADS) == [] and proxy.requests_matching("PATCH", UPLOADS) == []
    assert cli("pull", f"{proxy.domain}/b/app:1").returncode == 0


def test_tags_and_digest_pins(cli, other_cli, layered, busybox, registry):
    repo = f"{registry.domain}/pins/app"
    app_id = _inspect(cli, layered)["Id"]
    busybox_digest = _inspect(cli, "busybox")["Digest"]
    app_digest = cli("push", "-q", layered, f"{repo}:v1").out.strip()
    # the name now denotes the image as pushed: the same image, its layers compressed
    local = _inspect(cli, layered)
    assert (local["Digest"], local["Id"]) == (app_digest, app_id)
    cli("push", "busybox", f"{repo}:v2")
    cli("push", layered, f"{repo}:latest")
    assert _inspect(other_cli, other_cli("pull", f"{repo}:v2").out.splitlines()[-1])["Digest"] == busybox_digest
    other_cli("pull", repo)  # no tag: latest
    latest = _inspect(other_cli, f"{repo}:latest")
    assert (latest["Digest"], latest["Id"]) == (app_digest, app_id)
    pinned = other_cli("pull", f"{repo}@{app_digest}")
    assert pinned.out.splitlines()[-1] == f"{repo}@{app_digest}"
    assert _inspect(other_cli, f"{repo}@{app_digest}")["Digest"] == app_digest
    listed = other_cli("images").out
    assert f"{repo}" in listed and "v2" in listed
    # A tag moved on the registry is followed by the next pull of that tag.
    cli("push", "busybox", f"{repo}:v1")
    other_cli("pull", f"{repo}:v1")
    assert _inspect(other_cli, f"{repo}:v1")["Digest"] == busybox_digest


def test_push_by_digest_and_a_wrong_digest_is_refused(cli, layered, registry):
    # a first push (elsewhere) sends the image out with its layers compressed and moves the name to that
    # manifest: its digest is the one the image is known by from then on
    first = cli("push", "-q", layered, f"{registry.domain}/first/app:1").out.strip()
    digest = _inspect(cli, layered)["Digest"]
    assert digest == first
    out = cli("push", "-q", layered, f"{registry.domain}/bydigest/app@{digest}").out
    assert out.strip() == digest
    client = RegistryClient(registry.domain)
    assert Repository(client, "bydigest/app").get_manifest(digest).digest == digest
    wrong = "sha256:" + "0" * 64
    result = cli("push", layered, f"{registry.domain}/bydigest/app@{wrong}", check=False)
    assert result.returncode == 2 and "names digest" in result.err


def test_large_blobs_go_up_in_chunks_and_come_back_intact(tmp_path, cli, layered, proxy):
    store = Store.open(cli.root)
    image = load_image(store, layered)
    # an image given by value goes out as push sends it: its layers compressed, under the digest it reports
    result = push_image(store, image, f"{proxy.domain}/chunked/app:1", chunk_size=64 << 10)
    other = Store.open(tmp_path / "fresh")
    pulled = pull_image(other, f"{proxy.domain}/chunked/app:1")
    assert pulled.image.manifest_digest == result.digest
    assert (pulled.image.config_digest, pulled.image.diff_ids) == (image.config_digest, image.diff_ids)
    sent = pulled.image.layers  # as the registry holds them, the sizes the uploads had
    big = [layer for layer in sent if layer["size"] > 64 << 10]
    assert big, "the busybox layer is larger than one chunk"
    patches = proxy.requests_matching("PATCH", UPLOADS)
    assert len(patches) >= sum(-(-layer["size"] // (64 << 10)) for layer in big)
    assert all(entry.status == 202 for entry in patches)
    assert other.has_layer(image.diff_ids[-1])


def test_an_index_gives_the_host_platform_and_its_digest_pins_it(tmp_path, cli, layered, busybox, registry):
    store = Store.open(cli.root)
    push_image(store, layered, f"{registry.domain}/multi/app:amd")
    push_image(store, "busybox", f"{registry.domain}/multi/app:other")
    # the images as pushed (the names follow them: layers a build kept as tars went out compressed)
    app, other_arch = load_image(store, layered), load_image(store, "busybox")
    host = Platform.host()
    entries = []
    for image, platform in (
        (other_arch, {"os": "linux", "architecture": "riscv64"}),
        (app, {"os": host.os, "architecture": host.architecture}),
    ):
        data = store.read_blob(image.manifest_digest)
        entries.append(
            {**descriptor(media.OCI_MANIFEST, image.manifest_digest, len(data)), "platform": platform}
        )
    index_bytes = json.dumps(build_index(entries)).encode()
    index_digest = Repository(RegistryClient(registry.domain), "multi/app").put_manifest(
        "both", index_bytes, media.OCI_INDEX
    )
    fresh = Store.open(tmp_path / "fresh")
    result = pull_image(fresh, f"{registry.domain}/multi/app:both")
    assert result.digest == index_digest
    assert result.image.manifest_digest == app.manifest_digest
    assert not fresh.has_blob(other_arch.config_digest)
    assert (
        load_image(fresh, f"{registry.domain}/multi/app@{index_digest}").manifest_digest == app.manifest_digest
    )
    with pytest.raises(Exception, match="no image for platform linux/s390x"):
        pull_image(fresh, f"{registry.domain}/multi/app:both", platform=Platform("linux", "s390x"))


def test_missing_image_names_the_registry(other_cli, registry):
    result = other_cli("pull", f"{registry.domain}/nothing/here:1", check=False)
    assert result.returncode == 1
    assert "manifest unknown" in result.err and registry.domain in result.err
    assert "Traceback" not in result.err


def test_a_pulled_image_pushed_to_another_repository_is_mounted_from_where_it_came(
    cli, other_cli, layered, proxy
):
    cli("push", layered, f"{proxy.domain}/origin/app:1")
    other_cli("pull", f"{proxy.domain}/origin/app:1")
    proxy.log.clear()
    pushed = other_cli("push", f"{proxy.domain}/origin/app:1", f"{proxy.domain}/copy/app:1")
    assert proxy.requests_matching("POST", r"from=origin%2Fapp") and all(
        entry.status == 201 for entry in proxy.requests_matching("POST", UPLOADS)
    )
    assert proxy.requests_matching("PUT", UPLOADS) == []
    assert "mounted" in pushed.err


def test_progress_bars_in_a_terminal(tmp_path, cli, layered, registry):
    import io

    from builder.registry.progress import Transfers

    store = Store.open(cli.root)
    push_image(store, layered, f"{registry.domain}/bars/app:1")
    image = load_image(store, layered)  # the image as pushed, its layers compressed
    stream = io.StringIO()
    pull_image(
        Store.open(tmp_path / "fresh"), f"{registry.domain}/bars/app:1", progress=Transfers("tty", stream)
    )
    text = stream.getvalue()
    for layer in image.layers:
        assert layer["digest"][7:19] in text
    assert "pull complete" in text and "100%" in text
