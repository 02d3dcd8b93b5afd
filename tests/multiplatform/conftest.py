"""Fixtures for multi-platform builds: busybox-static root filesystems for amd64 and arm64 (Debian's packages,
unpacked by ``setup-binfmt.sh``), the qemu binfmt handlers it registers, and a store holding both bases."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from builder.emulation import can_run
from builder.platforms import Platform
from tests.build.conftest import Pybuild

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("PYBUILD_TEST_CACHE", "/var/cache/pybuild-tests")) / "busybox-static"
ARCHES = ("amd64", "arm64")


def _ready() -> bool:
    return all((CACHE / a / "bin" / "busybox").exists() for a in ARCHES) and can_run(
        Platform.parse("linux/arm64")
    )


@pytest.fixture(scope="session")
def busybox_static() -> Path:
    """Make sure the setup script has run (it is idempotent and CI runs it first); returns the cache dir."""
    if not _ready():
        subprocess.run(["bash", str(HERE / "setup-binfmt.sh")], check=True, capture_output=True)
    assert _ready(), "setup-binfmt.sh did not leave busybox-static and an arm64 binfmt handler in place"
    return CACHE


def arch_rootfs(busybox: Path, dest: Path) -> Path:
    """A root filesystem around one architecture's static busybox: its applet links, passwd and group."""
    for directory in ("bin", "etc", "root", "tmp"):
        (dest / directory).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    # the binary lists its own applets; a foreign one runs through the emulator
    listing = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True)
    for applet in listing.stdout.split():
        if applet != "busybox" and "/" not in applet:
            (dest / "bin" / applet).symlink_to("busybox")
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (dest / "etc" / "group").write_text("root:x:0:\n")
    return dest


@pytest.fixture(scope="session")
def rootfs(busybox_static: Path, tmp_path_factory) -> dict[str, Path]:
    """{arch: root filesystem directory} for amd64 and arm64."""
    base = tmp_path_factory.mktemp("rootfs")
    return {a: arch_rootfs(busybox_static / a / "bin" / "busybox", base / a) for a in ARCHES}


@pytest.fixture
def mp(tmp_path: Path, rootfs: dict[str, Path]) -> Pybuild:
    """A fresh store with ``bb:amd64`` and ``bb:arm64`` imported with their platforms, and ``bb:multi``, an
    index over both built from them."""
    tool = Pybuild(tmp_path / "store")
    for arch, directory in rootfs.items():
        tool("import", "--platform", f"linux/{arch}", str(directory), f"bb:{arch}")
    context = tmp_path / "base-context"
    context.mkdir()
    (context / "Buildfile").write_text("FROM bb:${TARGETARCH}\n")
    tool("build", "--platform", "linux/amd64,linux/arm64", "-t", "bb:multi", str(context))
    return tool
