"""A store on a small file system that fills up: the build fails with a clear message and exit code 1, no
traceback, and the store still verifies and builds once there is room."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.hardening.conftest import copy_store, write_context


@pytest.fixture
def small_store(template_store, tmp_path):
    """A copy of the template store on an 8 MiB tmpfs (about 5 MiB free), unmounted afterwards."""
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mountpoint)], check=True)
    try:
        yield copy_store(template_store, mountpoint / "store")
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def _free(path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _assert_clean_failure(cli, result, free_before: int) -> None:
    assert result.returncode == 1, result.err
    assert "Traceback" not in result.err
    assert cli("store", "verify").returncode == 0
    assert os.listdir(cli.root / "tmp") == []
    assert _free(cli.root) >= free_before - (256 << 10)  # the failed step's files are gone again


def _layers(store) -> dict[str, int]:
    """The store's unpacked layers (diff_id hex) with the bytes each takes on disk."""
    sizes = {}
    for entry in os.scandir(store / "layers" / "sha256"):
        sizes[entry.name] = sum(
            os.lstat(os.path.join(d, name)).st_blocks * 512
            for d, _dirs, files in os.walk(entry.path)
            for name in files
        )
    return sizes


@pytest.mark.parametrize(
    ("size", "output", "message"),
    [
        # The RUN fits and its layer is kept unpacked (a commit writes no blob); the gzip blob an OCI
        # export compresses that layer into does not fit: pybuild's own write fails, nothing is sent.
        (
            3_500_000,
            "oci",
            "no space left on device for the gzip blob of layer sha256:{layer} in the store at {root}",
        ),
        # The RUN's own write fails: the step fails as any failing RUN does.
        (20_000_000, None, "Buildfile:2:1: error: RUN exited with code 1"),
    ],
    ids=["layer blob does not fit", "RUN output does not fit"],
)
def test_full_store_fails_cleanly(small_store, tmp_path, size, output, message):
    cli = small_store
    free = _free(cli.root)
    layers = _layers(cli.root)
    blobs = set(os.listdir(cli.root / "blobs" / "sha256"))
    ctx = write_context(tmp_path / "ctx", f"FROM busybox\nRUN head -c {size} /dev/urandom > /big\n")
    dest = tmp_path / "out.tar"
    args = ["-o", f"type={output},dest={dest}"] if output else []
    result = cli("build", "-t", "big:1", *args, str(ctx), check=False)
    kept = {name: n for name, n in _layers(cli.root).items() if name not in layers}
    # the layer of a step that ran stays (it is the build cache); nothing else the build wrote may
    _assert_clean_failure(cli, result, free - sum(kept.values()))
    assert len(kept) == (1 if output else 0), kept
    assert message.format(layer="".join(kept), root=cli.root) in result.err, result.err
    if output:
        # the image was whole before it was to be sent, and is named as the build's result (`-t` names the
        # store's image before the outputs are written); it is sound and runs
        assert cli("run", "--rm", "big:1", "wc", "-c", "/big").out.split() == [str(size), "/big"]
    else:
        assert "big:1" not in (cli.root / "tags.json").read_text()
    assert not dest.exists()
    # no partial blob is kept: what the failed export added to the store is small documents at most
    made = set(os.listdir(cli.root / "blobs" / "sha256")) - blobs
    assert all(os.path.getsize(cli.root / "blobs" / "sha256" / name) < 64 << 10 for name in made), made
    small = write_context(tmp_path / "small", "FROM busybox\nRUN echo fits > /f\n")
    cli("build", "-t", "small:1", str(small))
    assert cli("run", "small:1", "cat", "/f").out == "fits\n"


def test_full_store_during_import_fails_cleanly(small_store, tmp_path):
    cli = small_store
    free = _free(cli.root)
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    (rootfs / "big").write_bytes(os.urandom(6_000_000))
    result = cli("import", str(rootfs), "big:1", check=False)
    _assert_clean_failure(cli, result, free)
    assert f"no space left on device for the layer of {rootfs} in the store at {cli.root}" in result.err
