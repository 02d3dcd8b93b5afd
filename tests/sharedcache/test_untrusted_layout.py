"""A ``type=local`` cache directory is shared between CI jobs, so whatever it holds is untrusted: a digest in
its ``index.json`` must never name a file outside ``blobs/sha256``, and a blob that is not a regular file (a
FIFO, a device) is never opened. Each case puts a FIFO where a careless reader would open it: opening a FIFO for
reading blocks until a writer comes, so a writer that can open it without blocking proves someone read it."""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from pathlib import Path

from builder.sharedcache.remote import open_remote
from builder.sharedcache.spec import parse_cache_spec
from builder.store import Store

HEX = "ab" * 32


def _layout(root: Path, manifest_digest: str) -> Path:
    (root / "blobs" / "sha256").mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": 10}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return root


def _open_watching(fifo: Path, root: Path, store) -> tuple[bool, list[str], object]:
    """Open the cache at ``root`` in a thread; (was ``fifo`` opened for reading meanwhile, warnings, result)."""
    warnings: list[str] = []
    found: list[object] = []
    spec = parse_cache_spec(f"type=local,src={root}", export=False)
    reader = threading.Thread(target=lambda: found.append(open_remote(spec, store, warnings.append)))
    reader.start()
    opened = False
    deadline = time.monotonic() + 10
    while reader.is_alive() and time.monotonic() < deadline:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: no reader has it open
                raise
            time.sleep(0.005)
            continue
        opened = True
        os.close(fd)  # the reader sees end of file and goes on
        break
    reader.join(10)
    assert not reader.is_alive()
    return opened, warnings, found[0]


def test_a_digest_with_a_path_in_it_is_refused_before_any_file_is_opened(tmp_path: Path):
    fifo = tmp_path / "outside"
    os.mkfifo(fifo)
    root = _layout(tmp_path / "cache", "sha256:../../../outside")
    with Store.open(tmp_path / "store") as store:
        opened, warnings, remote = _open_watching(fifo, root, store)
    assert not opened, "a file outside the cache directory was opened"
    assert remote is None
    assert len(warnings) == 1 and "building without it" in warnings[0]


def test_a_blob_that_is_not_a_regular_file_is_never_opened(tmp_path: Path):
    root = _layout(tmp_path / "cache", f"sha256:{HEX}")
    fifo = root / "blobs" / "sha256" / HEX
    os.mkfifo(fifo)
    with Store.open(tmp_path / "store") as store:
        opened, warnings, remote = _open_watching(fifo, root, store)
    assert not opened, "a FIFO among the blobs was opened"
    assert remote is None
    assert len(warnings) == 1 and "building without it" in warnings[0]
