"""Fixtures for hardening tests: a template store holding busybox, cheap per-test copies of it, and the CLI.

`Cli` runs ``pybuild`` in a child process as `tests.build.conftest.Pybuild` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.build.conftest import Pybuild
from tests.support.images import busybox_rootfs


class Cli(Pybuild):
    """`Pybuild` whose `popen` keeps stderr apart: the tests read a failed build's error by itself."""

    def popen(self, *args: str, env: dict | None = None, stderr: int = subprocess.PIPE) -> subprocess.Popen:
        return super().popen(*args, env=env, stderr=stderr)


@pytest.fixture(scope="session")
def template_store(tmp_path_factory) -> Path:
    """A store holding only ``busybox:latest``; copy it (`fresh_store`), never use it directly."""
    base = tmp_path_factory.mktemp("template")
    rootfs = busybox_rootfs(base / "rootfs")
    Cli(base / "store")("import", str(rootfs), "busybox:latest")
    return base / "store"


def copy_store(template: Path, dest: Path) -> Cli:
    """A private copy of ``template`` at ``dest`` (``cp -a`` keeps device nodes and xattrs of layers)."""
    subprocess.run(["cp", "-a", str(template), str(dest)], check=True)
    return Cli(dest)


@pytest.fixture
def cli(template_store: Path, tmp_path: Path) -> Cli:
    """A fresh store with ``busybox:latest``."""
    return copy_store(template_store, tmp_path / "store")


def write_context(directory: Path, buildfile: str, files: dict[str, str] | None = None) -> Path:
    """A build context with ``Buildfile`` and ``files`` (relative path → text); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Buildfile").write_text(buildfile)
    for name, text in (files or {}).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` in this mount namespace."""
    prefix = os.path.realpath(path)
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split(" ")[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return points


def runc_containers(store: Path) -> list[str]:
    """Containers in the runtime's private runc state of the store at ``store``."""
    root = store / "state" / "runtime" / "runc"
    if not root.is_dir():
        return []
    result = subprocess.run(
        [shutil.which("runc") or "/usr/sbin/runc", "--root", str(root), "list", "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()


def store_snapshot(store: Path) -> dict:
    """What a user could see of a store: tags, blobs, layers and cache keys."""

    def names(sub: str) -> list[str]:
        d = store / sub
        return sorted(p.name for p in d.iterdir()) if d.is_dir() else []

    tags = (store / "tags.json").read_text() if (store / "tags.json").exists() else ""
    cache = sorted(p.name for p in (store / "cache").glob("*/*.json"))
    return {"tags": tags, "blobs": names("blobs/sha256"), "layers": names("layers/sha256"), "cache": cache}


def age_store(store: Path, seconds: float) -> None:
    """Make every blob, layer and cache record ``seconds`` older, as if the store had been idle that long."""
    for pattern in ("blobs/sha256/*", "layers/sha256/*", "cache/*/*.json"):
        for path in store.glob(pattern):
            st = os.lstat(path)
            os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds), follow_symlinks=False)
