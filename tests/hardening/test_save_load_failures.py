"""Saves and loads that fail half-way: a full disk is named (the output, or the blob that did not fit),
nothing partial is left behind, no "Exception ignored" noise; and `save` holds the gc lock, so `rmi` plus
`prune` cannot sweep the image it is writing."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from builder.store import Store
from builder.store.gc import GC_LOCK
from tests.hardening.conftest import copy_store
from tests.hardening.hostile_registry import HostileRegistry
from tests.hardening.imagedocs import config_for, docker_archive, layer_tar, raw, sha


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tmpfs of a given size (``tmpfs("256k")``); all are unmounted afterwards."""
    mounted = []

    def mount(size: str) -> Path:
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], check=True)
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=True)


def _assert_clean(result, *named: str) -> None:
    assert result.returncode == 1, result.out + result.err
    assert "Traceback" not in result.err and "Exception ignored" not in result.err, result.err
    assert "no space left on device" in result.err, result.err
    for word in named:
        assert word in result.err, result.err


@pytest.mark.parametrize("fmt", ["docker", "oci", "oci-dir"])
def test_save_to_a_full_disk_names_the_output_and_leaves_nothing(cli, tmpfs, fmt):
    out = tmpfs("256k")
    dest = out / ("layout" if fmt == "oci-dir" else "image.tar")
    result = cli("save", "busybox", "--format", fmt, "-o", str(dest), check=False)
    _assert_clean(result, str(dest))
    assert os.listdir(out) == []


def test_save_into_an_existing_layout_on_a_full_disk_leaves_it_as_it_was(cli, tmpfs, tmp_path):
    out = tmpfs("512k")
    small = layer_tar({"hello": b"hi\n"})
    cli("load", "-i", str(docker_archive(tmp_path / "small.tar", [small], tags=["small:1"])))
    layout = out / "layout"
    cli("save", "small:1", "--format", "oci-dir", "-o", str(layout))
    before = sorted(str(p.relative_to(layout)) for p in layout.rglob("*"))
    index = (layout / "index.json").read_bytes()
    result = cli("save", "busybox", "--format", "oci-dir", "-o", str(layout), check=False)
    _assert_clean(result, str(layout))
    assert sorted(str(p.relative_to(layout)) for p in layout.rglob("*")) == before
    assert (layout / "index.json").read_bytes() == index


@pytest.fixture
def small_store(template_store, tmpfs):
    """A copy of the template store on an 8 MiB tmpfs (about 5 MiB free)."""
    return copy_store(template_store, tmpfs("8m") / "store")


def test_load_into_a_full_store_names_the_blob(small_store, tmp_path):
    cli = small_store
    big = layer_tar({"big": os.urandom(12 << 20)})
    result = cli("load", "-i", str(docker_archive(tmp_path / "big.tar", [big])), check=False)
    _assert_clean(result, "blob layer0.tar", f"the store at {cli.root}")
    assert cli("store", "verify").returncode == 0
    assert os.listdir(cli.root / "tmp") == []


def test_pull_into_a_full_store_names_the_blob(small_store):
    cli = small_store
    big = layer_tar({"big": os.urandom(12 << 20)})
    with HostileRegistry() as registry:
        registry.image("big", "1", raw(config_for([big])), [big])
        result = cli("pull", f"{registry.domain}/big:1", check=False)
    _assert_clean(result, f"blob {sha(big)}", registry.domain, f"the store at {cli.root}")
    assert cli("store", "verify").returncode == 0
    assert os.listdir(cli.root / "tmp") == []


def test_save_waits_for_a_running_gc(cli, tmp_path):
    """While gc (or prune) holds the gc lock, a save does not start writing; once it is released the save
    completes. Without the lock, `rmi` plus `prune` could sweep the blobs a save is about to copy."""
    dest = tmp_path / "out.tar"
    store = Store.open(cli.root)
    with store.lock(GC_LOCK):
        process = cli.popen("save", "busybox", "-o", str(dest))
        time.sleep(3)
        waiting = process.poll() is None and not dest.exists()
    out, err = process.communicate(timeout=120)
    assert waiting, err
    assert process.returncode == 0, err
    assert dest.stat().st_size > 0


def test_save_into_an_empty_directory_on_a_full_disk_leaves_it_empty(cli, tmpfs):
    out = tmpfs("256k")
    layout = out / "layout"
    layout.mkdir()
    result = cli("save", "busybox", "--format", "oci", "-o", str(layout), check=False)
    _assert_clean(result, str(layout))
    assert list(layout.iterdir()) == []
