"""Base images for the two-platform workload: busybox-static root filesystems for linux/amd64 and linux/arm64.

The pair is the machine's own architecture and the other of the two, run through a qemu binfmt handler with
the F flag (the kernel opens the emulator at registration, so it runs inside containers whose root
filesystem lacks it). The busybox binaries are Debian's ``busybox-static`` packages, unpacked (not installed)
by ``tests/multiplatform/setup-binfmt.sh``, which also registers the handlers; the bench runs that script when
either is missing, as the multi-platform tests do.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETUP = REPO / "tests" / "multiplatform" / "setup-binfmt.sh"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
ARCHES = ("amd64", "arm64")
PLATFORMS = tuple(f"linux/{arch}" for arch in ARCHES)
_NATIVE = {"x86_64": "amd64", "aarch64": "arm64"}
_EMULATOR = {"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}


def _cache() -> Path:
    return Path(os.environ.get("PYBUILD_TEST_CACHE", "/var/cache/pybuild-tests")) / "busybox-static"


def _emulated(arch: str) -> bool:
    """Whether a binfmt handler for ``arch`` is registered, enabled and has the F flag."""
    try:
        text = (BINFMT / _EMULATOR[arch]).read_text()
    except OSError:
        return False
    lines = text.splitlines()
    flags = next((line.split(":", 1)[1] for line in lines if line.startswith("flags:")), "")
    return bool(lines) and lines[0].strip() == "enabled" and "F" in flags


def _missing() -> str | None:
    """What is missing for the two-platform workload, or None when it can run."""
    native = _NATIVE.get(platform.machine())
    if native is None:
        return f"this machine's architecture {platform.machine()} is neither amd64 nor arm64"
    foreign = [arch for arch in ARCHES if arch != native]
    if not all(_emulated(arch) for arch in foreign):
        return f"no binfmt handler with the F flag for {', '.join(foreign)}"
    if not all((_cache() / arch / "bin" / "busybox").exists() for arch in ARCHES):
        return f"no busybox-static for {' and '.join(ARCHES)} under {_cache()}"
    return None


def unavailable() -> str | None:
    """None when both platforms can run here (after running the setup script if needed); else why not."""
    if _missing() is None:
        return None
    if SETUP.exists() and os.geteuid() == 0:
        subprocess.run(["bash", str(SETUP)], capture_output=True)
    reason = _missing()
    return None if reason is None else f"{reason} (see {SETUP.relative_to(REPO)})"


def arch_rootfs(dest: Path, arch: str) -> Path:
    """A root filesystem around ``arch``'s static busybox at ``dest``: its applet links, passwd and group.
    Made once (in ``dest.partial``, renamed when complete)."""
    if dest.exists():
        return dest
    busybox = _cache() / arch / "bin" / "busybox"
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for directory in ("bin", "etc", "root", "tmp", "dev", "proc", "sys"):
        (partial / directory).mkdir(parents=True)
    os.chmod(partial / "tmp", 0o1777)
    shutil.copy2(busybox, partial / "bin" / "busybox")
    # the binary lists its own applets; a foreign one runs through the emulator
    listing = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True)
    for applet in listing.stdout.split():
        if applet != "busybox" and "/" not in applet:
            (partial / "bin" / applet).symlink_to("busybox")
    (partial / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (partial / "etc" / "group").write_text("root:x:0:\n")
    partial.rename(dest)
    return dest
