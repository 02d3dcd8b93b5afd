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


@pytest.mark.parametrize(
    ("size", "message"),
    [
        # The RUN fits, its layer blob does not: pybuild's own write fails.
        (3_500_000, "no space left for this step's layer in the store"),
        # The RUN's own write fails: the step fails as any failing RUN does.
        (20_000_000, "RUN exited with code 1"),
    ],
    ids=["layer blob does not fit", "RUN output does not fit"],
)
def test_full_store_fails_cleanly(small_store, tmp_path, size, message):
    cli = small_store
    free = _free(cli.root)
    ctx = write_context(tmp_path / "ctx", f"FROM busybox\nRUN head -c {size} /dev/urandom > /big\n")
    result = cli("build", "-t", "big:1", str(ctx), check=False)
    _assert_clean_failure(cli, result, free)
    assert "Buildfile:2:1: error:" in result.err and message in result.err, result.err
    assert "big:1" not in (cli.root / "tags.json").read_text()
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
