"""What a RUN can reach: not the store, not the host's filesystem, not other builds' mounts, not a descriptor
of pybuild's (the class of CVE-2024-21626); and nothing it starts outlives its step."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.hardening.conftest import write_context


def _run_output(cli, ctx: Path) -> str:
    """Build ``ctx`` with plain progress; the RUN's output lines, without the progress prefixes."""
    result = cli("build", "--progress", "plain", "--no-cache", str(ctx))
    lines = []
    for line in (result.err + result.out).splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].startswith("#") and parts[1].endswith("s"):
            lines.append(parts[2])
    return "\n".join(lines)


def test_run_cannot_reach_the_store_or_the_host(cli, tmp_path):
    store = cli.root
    script = " ; ".join(
        [
            f"for p in {store} /proc/1/root{store} {tmp_path} /proc/1/root{tmp_path} /root/.bash_history "
            f"/proc/1/root/proc/1/root{store}; do test -e $p && echo VISIBLE $p; done",
            "mount -t tmpfs none /tmp 2>/dev/null && echo MOUNTED",
            "mkdir -p /m && mount -t proc proc /m 2>/dev/null && echo MOUNTED",
            # the node is removed again: a layer holding a block device is refused (issue 9)
            "mknod /disk b 8 0 2>/dev/null && head -c1 /disk >/dev/null 2>&1 && echo READ_DISK; rm -f /disk",
            "sleep 30 & p=$!; echo fds: $(ls /proc/$p/fd); kill $p",
            "echo pid: $$",
            "echo procs: $(ls /proc | grep '^[0-9]')",
            "echo overlays: $(grep -c ' overlay ' /proc/self/mounts)",
        ]
    )
    ctx = write_context(tmp_path / "ctx", f"FROM busybox\nRUN {script}\n")
    out = _run_output(cli, ctx)
    assert "VISIBLE" not in out and "MOUNTED" not in out and "READ_DISK" not in out, out
    # What a process started by the step inherits: stdin, stdout and stderr, nothing of pybuild's.
    assert "fds: 0 1 2\n" in out + "\n"
    assert "pid: 1\n" in out  # a pid namespace of its own
    procs = [int(pid) for pid in out.split("procs: ")[1].split("\n")[0].split()]
    assert max(procs) < 20, out  # its own few processes, numbered from 1; no process of the host
    assert "overlays: 1" in out  # its own rootfs; no other build's mount


@pytest.mark.parametrize("fd", range(3, 12))
def test_working_directory_cannot_be_a_leaked_descriptor(cli, tmp_path, fd):
    ctx = write_context(
        tmp_path / "ctx", f"FROM busybox\nWORKDIR /proc/self/fd/{fd}\nRUN ls ../../.. && echo ESC'A'PED\n"
    )
    result = cli("build", "--progress", "plain", str(ctx), check=False)
    assert "ESCAPED" not in result.err + result.out
    assert result.returncode == 1 and "Traceback" not in result.err


def test_other_builds_mounts_are_invisible(cli, tmp_path):
    """While one build's RUN has its overlay mounted on the host, another RUN sees only its own."""
    slow = write_context(tmp_path / "slow", "FROM busybox\nRUN sleep 3\n")
    running = cli.popen("build", "--no-cache", str(slow))
    try:
        deadline = time.monotonic() + 20
        while not _host_overlays(cli.root) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _host_overlays(cli.root), "the slow build never mounted its overlay"
        probe = write_context(
            tmp_path / "probe", "FROM busybox\nRUN echo overlays: $(grep -c ' overlay ' /proc/mounts)\n"
        )
        assert "overlays: 1" in _run_output(cli, probe)
    finally:
        running.wait(timeout=60)
    assert running.returncode == 0


def _host_overlays(root: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if " overlay " in line and str(root) in line]


def test_a_daemon_forked_by_run_does_not_outlive_its_step(cli, tmp_path):
    marker = "987654"
    ctx = write_context(
        tmp_path / "ctx", f"FROM busybox\nRUN (sleep {marker} &) ; sleep {marker}1 & echo started\n"
    )
    started = time.monotonic()
    out = _run_output(cli, ctx)
    assert "started" in out
    assert time.monotonic() - started < 60  # the step did not wait for its daemons
    assert _processes_with(marker) == []


def _processes_with(word: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if word.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return [pid for pid in found if pid != os.getpid()]
