"""`Repository.mount_blob`, which image push and cache export share: a blob another repository of the same
registry holds is mounted, not sent; a refused mount leaves the upload session the registry opened to the
next push of that blob, so pushing after a failed mount costs no extra request."""

from __future__ import annotations

import os
from pathlib import Path

from builder.registry.client import RegistryClient
from builder.registry.repository import Repository
from builder.store import Store


def _blob(store) -> tuple[str, int]:
    data = os.urandom(4096)
    return store.put_blob(data), len(data)


def test_a_blob_of_another_repository_is_mounted_without_an_upload(tmp_path: Path, proxy):
    with Store.open(tmp_path / "store") as store, RegistryClient(proxy.domain) as client:
        digest, size = _blob(store)
        assert Repository(client, "src/a").push_blob(store, digest, size) == "uploaded"

        target = Repository(client, "dst/b")
        assert target.mount_blob(digest, "src/a")
        assert target.blob_size(digest) == size
        assert not [e for m in ("PUT", "PATCH") for e in proxy.requests_matching(m, r"/dst/b/blobs/uploads/")]
        # the same repository is no source: no request is made
        before = len(proxy.requests_matching("POST", r"/dst/b/"))
        assert not target.mount_blob(digest, "dst/b")
        assert len(proxy.requests_matching("POST", r"/dst/b/")) == before


def test_a_refused_mount_hands_its_upload_session_to_the_push(tmp_path: Path, proxy):
    with Store.open(tmp_path / "store") as store, RegistryClient(proxy.domain) as client:
        digest, size = _blob(store)
        target = Repository(client, "dst/c")
        assert not target.mount_blob(digest, "src/lacks-it")
        assert target.push_blob(store, digest, size) == "uploaded"
        posts = proxy.requests_matching("POST", r"/dst/c/blobs/uploads/")
        assert len(posts) == 1 and "mount=" in posts[0].path  # the upload went through the mount's session
        assert target.blob_size(digest) == size
