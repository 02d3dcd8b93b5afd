"""Test images: a busybox root filesystem from Debian's busybox-static, and a private podman to check images.

``busybox_rootfs(dest)`` makes a tiny but complete root filesystem (``/bin/busybox`` plus a symlink per
applet, ``/etc/passwd``, ``/etc/group``, ``/tmp``) that runs ``sh -c 'echo ok'`` in any runtime.
``import_busybox(root, ref)`` makes it an image in the pybuild store at ``root`` through ``pybuild import``.
``Podman`` runs podman with its own storage under a temp dir, so tests never touch the machine's images.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from subprocess import CompletedProcess

BUSYBOX = Path("/bin/busybox")
RUNC = "/usr/sbin/runc"


def busybox_rootfs(dest: Path) -> Path:
    """Fill ``dest`` (created if missing) with a busybox root filesystem; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for directory in ("bin", "etc", "root", "tmp", "dev", "proc", "sys"):
        (dest / directory).mkdir(exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    listing = subprocess.run([str(BUSYBOX), "--list"], check=True, capture_output=True, text=True)
    applets = listing.stdout.split()
    for applet in applets:
        if applet == "busybox" or "/" in applet:
            continue
        link = dest / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    (dest / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return dest


def pybuild(root: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> CompletedProcess:
    """Run the ``pybuild`` CLI (this checkout) in a child process with the store at ``root``; ``stdout`` and
    ``stderr`` of the result are bytes. Raises AssertionError on a non-zero exit when ``check``."""
    result = subprocess.run(
        [sys.executable, "-m", "builder", "--root", str(root), *args],
        input=stdin,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    if check and result.returncode != 0:
        message = result.stderr.decode()
        raise AssertionError(f"pybuild {' '.join(args)} failed ({result.returncode}):\n{message}")
    return result


def import_busybox(root: Path, ref: str, workdir: Path) -> str:
    """``pybuild import`` a fresh busybox rootfs as ``ref`` into the store at ``root``; returns the image ID."""
    rootfs = busybox_rootfs(workdir / "busybox-rootfs")
    return pybuild(root, "import", str(rootfs), ref).stdout.decode().strip()


class Podman:
    """podman with private storage (``--root`` under ``base``, ``--runroot`` a short temp dir), runc, and no
    ulimits or systemd cgroups, which this kind of machine refuses. Call ``run(*args)``; ``cleanup()`` removes
    all of its state."""

    def __init__(self, base: Path) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        conf = base / "containers.conf"
        conf.write_text('[containers]\ndefault_ulimits = []\n[engine]\nevents_logger = "file"\n')
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        # podman refuses a runroot path longer than 50 characters, so it cannot live under pytest's tmp_path.
        self.runroot = Path(tempfile.mkdtemp(prefix="podrun-", dir="/tmp"))
        self.prefix = [
            "podman",
            "--root",
            str(base / "root"),
            "--runroot",
            str(self.runroot),
            "--runtime",
            RUNC,
            "--storage-driver",
            "overlay",
            "--cgroup-manager",
            "cgroupfs",
            "--tmpdir",
            str(base / "tmp"),
        ]

    def run(self, *args: str, check: bool = True) -> CompletedProcess:
        result = subprocess.run([*self.prefix, *args], capture_output=True, text=True, env=self.env)
        if check and result.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def cleanup(self) -> None:
        """Unmount and delete podman's private storage."""
        self.run("system", "reset", "--force", check=False)
        subprocess.run(["umount", "-R", str(self.base / "root" / "overlay")], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)
        shutil.rmtree(self.runroot, ignore_errors=True)
