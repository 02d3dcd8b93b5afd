"""Run one command and measure it: wall-clock seconds and the peak resident memory of its process tree.

Memory method: this machine mounts cgroups in hybrid mode (memory controller on v1), where the only
per-group peak (``memory.max_usage_in_bytes``) counts page cache — a build that writes 300 MB would "use"
300 MB. So a thread polls ``/proc`` every ``POLL_SECONDS`` instead: it walks the tree from the command's
pid through ``/proc/PID/task/TID/children`` and sums each process's proportional set size (``Pss`` of
``/proc/PID/smaps_rollup``: resident pages, a page shared by n processes counted 1/n in each), so pages a
fork shares copy-on-write are not counted twice. A child that still runs its parent's program with the same
Pss (a vfork child before its exec shares the parent's address space outright) is the same memory seen
twice and is skipped. Two sums are kept per sample and their maxima reported:

- ``tree``: every process in the tree, including the RUN step's own processes (shell, apt-get, ...) that a
  container runtime started — they are reparented to the builder when it is the subreaper;
- ``own``: only processes in the bench's own pid namespace, i.e. the builder and its helpers (runc, tar,
  ...) without what the Buildfile's RUN commands run inside their containers.

Where ``smaps_rollup`` is missing (kernels before 4.14) the resident set from ``statm`` is used, which
counts shared pages once per process: an upper bound. Processes that live less than one poll interval can
be missed; they are small by nature.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.02
# A results row's value, in place of runs, for a tool that cannot build the workload at all (buildah has no
# bake); the table shows it as such, never as a missing or failed measurement.
NOT_APPLICABLE = "n/a"
#: the results' key, beside the tools', of a workload's own work timed with no builder (`Workload.floor`)
FLOOR = "floor"
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measured:
    """One run: ``seconds`` wall-clock, peak RSS sums in bytes, and the exit status."""

    seconds: float
    rss_tree: int
    rss_own: int
    returncode: int


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def _rss(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes (resident size where Pss is unavailable); 0 if gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return 0
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def _pidns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def tree_rss(root_pid: int, own_ns: str | None) -> tuple[int, int]:
    """(Pss sum over the whole tree under ``root_pid``, sum over its processes in pid namespace ``own_ns``)."""
    total = own = 0
    stack: list[tuple[int, int, str | None]] = [(root_pid, -1, None)]
    seen: set[int] = set()
    while stack:
        pid, parent_rss, parent_exe = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        rss, exe = _rss(pid), _exe(pid)
        if not (rss == parent_rss and exe == parent_exe):  # not the parent's memory seen a second time
            total += rss
            if _pidns(pid) == own_ns:
                own += rss
        stack.extend((child, rss, exe) for child in _children(pid))
    return total, own


def measure(
    cmd: list[str], log: Path, *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Measured:
    """Run ``cmd`` with stdout and stderr appended to ``log``; returns its time and peak RSS sums.

    Never raises for a failing command: the caller decides what a non-zero ``returncode`` means.
    """
    own_ns = _pidns(os.getpid())
    peaks = [0, 0]
    done = threading.Event()
    with open(log, "ab") as out:
        out.write(("\n$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)

        def poll() -> None:
            while not done.is_set():
                total, own = tree_rss(proc.pid, own_ns)
                peaks[0] = max(peaks[0], total)
                peaks[1] = max(peaks[1], own)
                done.wait(POLL_SECONDS)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        returncode = proc.wait()
        seconds = time.perf_counter() - start
        done.set()
        poller.join()
    return Measured(seconds, peaks[0], peaks[1], returncode)


def run_checked(cmd: list[str], log: Path, **kwargs) -> None:
    """Run a setup command (not measured) with output to ``log``; raise with the log's tail if it fails."""
    result = measure(cmd, log, **kwargs)
    if result.returncode != 0:
        tail = log.read_bytes()[-3000:].decode("utf-8", "replace")
        raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}; end of {log}:\n{tail}")
