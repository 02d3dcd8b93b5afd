"""A one-paragraph description of the machine a benchmark ran on (ratios need their context)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "missing"
    return out.splitlines()[0] if out else "?"


def describe(bench: Path) -> str:
    """CPU count and model, memory, kernel, the filesystem and device under ``bench``, tool versions."""
    mem_kib = int(_first("/proc/meminfo", "MemTotal").split()[0])
    df = (
        subprocess.run(
            ["df", "-h", "--output=source,fstype,size,avail", str(bench)], capture_output=True, text=True
        )
        .stdout.splitlines()[-1]
        .split()
    )
    device = Path(df[0]).name
    rotational = Path(f"/sys/block/{device}/queue/rotational")
    kind = {"0": "non-rotational", "1": "rotational"}.get(
        rotational.read_text().strip() if rotational.exists() else "", "unknown kind"
    )
    return (
        f"Machine: {os.cpu_count()} CPUs ({_first('/proc/cpuinfo', 'model name')}), "
        f"{mem_kib / 2**20:.1f} GiB RAM, Linux {platform.release()}, "
        f"bench dir on {df[0]} ({df[1]}, {kind}, {df[2]}, {df[3]} free); "
        f"Python {platform.python_version()}; {_version(['buildah', '--version'])}; "
        f"{_version(['runc', '--version'])}; {_version(['skopeo', '--version'])}; "
        f"load average at start {' '.join(Path('/proc/loadavg').read_text().split()[:3])}."
    )
