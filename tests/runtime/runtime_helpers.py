"""Helpers for runtime tests (a module of its own so test files can import them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from builder.runtime import ProcessSpec, run_step

PASSWD = """root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001::/home/bob:/bin/sh
"""
GROUP = """root:x:0:
wheel:x:10:alice
staff:x:50:alice,bob
alice:x:1000:
bob:x:1001:
"""


def make_busybox_layer(target: Path) -> Path:
    """A layer directory holding /bin/busybox and a symlink per applet (``busybox`` itself excluded)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    (target / "bin").mkdir(parents=True)
    shutil.copy2(busybox, target / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", target / "bin" / applet)
    return target


def runc_containers(state: Path) -> list[str]:
    if not (state / "runc").exists():
        return []
    listing = subprocess.run(
        ["runc", "--root", str(state / "runc"), "list", "--quiet"], capture_output=True, text=True, check=True
    )
    return listing.stdout.split()


def tree(directory: Path) -> dict[str, str]:
    """Every entry below ``directory``, mapped to a short description of its type (and content for files)."""
    entries = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = Path(root, name)
            st = path.lstat()
            rel = str(path.relative_to(directory))
            if path.is_symlink():
                entries[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                entries[rel] = "dir"
            elif path.is_file():
                entries[rel] = "file:" + path.read_text(errors="replace")
            elif os.major(st.st_rdev) == 0 and os.minor(st.st_rdev) == 0:
                entries[rel] = "whiteout"
            else:
                entries[rel] = "other"
    return entries


class Step:
    """Runs steps for a test and keeps what they printed."""

    def __init__(self, state_dir: Path, upper_root: Path) -> None:
        self.state_dir = state_dir
        self.upper_root = upper_root
        self.count = 0

    def __call__(self, lowers: list[Path], script: str, **spec) -> tuple[int, str, Path]:
        """Run ``sh -c script`` in a fresh upperdir; return (exit status, output, upperdir)."""
        self.count += 1
        upper = self.upper_root / f"upper{self.count}"
        chunks: list[bytes] = []
        status = run_step(
            lowers,
            upper,
            ProcessSpec(args=["/bin/sh", "-c", script], **spec),
            state_dir=self.state_dir,
            output=chunks.append,
        )
        return status, b"".join(chunks).decode(), upper
