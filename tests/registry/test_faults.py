"""Faults between pybuild and a real registry, injected by a proxy: a blob transfer cut half-way, a 500, a
blob whose bytes do not match its digest."""

from __future__ import annotations

import pytest

from builder.oci.image import ImageNotFound, load_image
from builder.registry.client import RegistryClient
from builder.registry.errors import RegistryError
from builder.registry.pull import pull_image
from builder.registry.push import push_image
from builder.store import Store


@pytest.fixture
def pushed(cli, layered, registry):
    """``layered`` pushed straight to the registry; returns (the image as pushed, its repository path)."""
    store = Store.open(cli.root)
    result = push_image(store, layered, f"{registry.domain}/faults/app:1")
    image = load_image(store, layered)  # the name follows the image as it went out (its layers compressed)
    assert result.digest == image.manifest_digest
    return image, "faults/app"


def _client(domain: str) -> RegistryClient:
    return RegistryClient(domain, backoff=0.01)


def test_pull_resumes_a_cut_blob_with_range_and_retries_a_500(tmp_path, pushed, proxy):
    image, path = pushed
    big = max(image.layers, key=lambda layer: layer["size"])
    proxy.add("GET", f"/blobs/{big['digest']}", "cut")
    proxy.add("GET", "/manifests/1", "500")
    store = Store.open(tmp_path / "fresh")
    result = pull_image(store, f"{proxy.domain}/{path}:1", client=_client(proxy.domain))
    assert result.image.manifest_digest == image.manifest_digest
    gets = proxy.requests_matching("GET", f"/blobs/{big['digest']}")
    assert [entry.status for entry in gets] == [200, 206]
    assert gets[0].range is None
    resumed_at = int(gets[1].range.removeprefix("bytes=").removesuffix("-"))
    assert big["size"] // 2 - (64 << 10) <= resumed_at <= big["size"] // 2
    assert [entry.status for entry in proxy.requests_matching("GET", "/manifests/1")] == [500, 200]
    store.verify_blob(big["digest"])
    assert all(store.has_layer(diff_id) for diff_id in image.diff_ids)


def test_push_survives_an_upload_cut_half_way_and_a_500(tmp_path, cli, layered, proxy, registry):
    store = Store.open(cli.root)
    built = load_image(store, layered)
    proxy.add("PUT", r"/blobs/uploads/.*digest=", "cut-request")
    proxy.add("HEAD", r"/blobs/sha256:", "500")
    proxy.add("PUT", r"/manifests/", "500")
    result = push_image(store, layered, f"{proxy.domain}/faults/pushed:1", client=_client(proxy.domain))
    image = load_image(store, layered)  # the image as pushed: the build's, its layers compressed
    assert result.digest == image.manifest_digest and image.config_digest == built.config_digest
    statuses = [entry.status for entry in proxy.requests_matching("PUT", r"/blobs/uploads/.*digest=")]
    assert statuses.count(0) == 1 and statuses.count(201) == len(image.layers) + 1
    assert [entry.status for entry in proxy.requests_matching("PUT", "/manifests/")] == [500, 201]
    fresh = Store.open(tmp_path / "fresh")
    pulled = pull_image(fresh, f"{registry.domain}/faults/pushed:1")
    assert pulled.image.manifest_digest == image.manifest_digest


def test_chunked_push_survives_a_cut_chunk(tmp_path, cli, layered, proxy, registry):
    store = Store.open(cli.root)
    built = load_image(store, layered)
    proxy.add("PATCH", r"/blobs/uploads/", "cut-request")
    result = push_image(
        store, layered, f"{proxy.domain}/faults/chunks:1", client=_client(proxy.domain), chunk_size=256 << 10
    )
    image = load_image(store, layered)  # the image as pushed: the build's, its layers compressed
    assert result.digest == image.manifest_digest and image.config_digest == built.config_digest
    assert [e.status for e in proxy.requests_matching("PATCH", "/blobs/uploads/")].count(0) == 1
    fresh = Store.open(tmp_path / "fresh")
    assert (
        pull_image(fresh, f"{registry.domain}/faults/chunks:1").image.manifest_digest == image.manifest_digest
    )


def test_a_blob_that_does_not_match_its_digest_is_refused_and_not_stored(tmp_path, pushed, proxy):
    image, path = pushed
    big = max(image.layers, key=lambda layer: layer["size"])
    proxy.add("GET", f"/blobs/{big['digest']}", "corrupt", times=100)
    store = Store.open(tmp_path / "fresh")
    with pytest.raises(RegistryError) as caught:
        pull_image(store, f"{proxy.domain}/{path}:1", client=_client(proxy.domain))
    message = caught.value.message
    assert big["digest"] in message and proxy.domain in message and "nothing was stored" in message
    assert not store.has_blob(big["digest"])
    assert set(store.blobs()) <= {layer["digest"] for layer in image.layers} | {image.config_digest}
    assert store.tags() == {}
    with pytest.raises(ImageNotFound):
        load_image(store, f"{proxy.domain}/{path}:1")


def test_a_registry_that_stays_down_is_reported_by_name(tmp_path):
    from tests.registry.servers import free_port

    domain = f"127.0.0.1:{free_port()}"
    store = Store.open(tmp_path / "store")
    with pytest.raises(RegistryError, match=f"cannot reach {domain}"):
        pull_image(store, f"{domain}/x:1", client=RegistryClient(domain, retries=2, backoff=0.01))
