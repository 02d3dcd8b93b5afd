"""`ensure_image`, what FROM calls: the ``--pull`` policies, observed at the registry through a proxy."""

from __future__ import annotations

import pytest

from builder.errors import UsageError
from builder.oci.config import Platform
from builder.oci.image import ImageNotFound, load_image
from builder.registry.errors import RegistryError
from builder.registry.pull import ensure_image
from builder.registry.push import push_image
from builder.store import Store


@pytest.fixture
def remote(cli, layered, proxy):
    """``layered`` pushed through the proxy; returns its reference there (the proxy log is then cleared)."""
    store = Store.open(cli.root)
    ref = f"{proxy.domain}/base/app:1"
    push_image(store, load_image(store, layered), ref)
    proxy.log.clear()
    return ref


def test_missing_pulls_once_then_uses_the_store(tmp_path, remote, proxy):
    store = Store.open(tmp_path / "fresh")
    image = ensure_image(store, remote)
    assert proxy.requests_matching("GET", "/blobs/")
    proxy.log.clear()
    again = ensure_image(store, remote, pull="missing")
    assert again.manifest_digest == image.manifest_digest
    assert proxy.log == []


def test_always_checks_the_registry_but_fetches_no_blob_it_has(tmp_path, remote, proxy):
    store = Store.open(tmp_path / "fresh")
    ensure_image(store, remote, pull="always")
    proxy.log.clear()
    ensure_image(store, remote, pull="always")
    assert [entry.path for entry in proxy.log if entry.method == "GET"] == ["/v2/base/app/manifests/1"]


def test_never_uses_only_the_store(tmp_path, remote, proxy):
    store = Store.open(tmp_path / "fresh")
    with pytest.raises(ImageNotFound):
        ensure_image(store, remote, pull="never")
    assert proxy.log == []
    ensure_image(store, remote)
    assert ensure_image(store, remote, pull="never").manifest_digest


def test_a_stored_image_of_another_platform_is_not_used(tmp_path, remote, proxy):
    store = Store.open(tmp_path / "fresh")
    ensure_image(store, remote)
    other = Platform("linux", "s390x" if Platform.host().architecture != "s390x" else "amd64")
    with pytest.raises(ImageNotFound, match=f"not {other}"):
        ensure_image(store, remote, pull="never", platform=other)
    proxy.log.clear()
    with pytest.raises(RegistryError, match=f"is for platform .*, not {other}"):
        ensure_image(store, remote, platform=other)
    assert proxy.requests_matching("GET", "/manifests/1")


def test_unknown_policy_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="invalid pull policy"):
        ensure_image(Store.open(tmp_path / "s"), "busybox", pull="sometimes")
