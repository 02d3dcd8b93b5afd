"""A killed pybuild's step dies with it, and what it left is cleaned up whatever anyone holds (issue 20).

A step's container runs detached in a session of its own; when pybuild is killed with SIGKILL its watchdog
deletes the container at once, so the step's processes do not run on (with the host's network) until the
next build. The mounts and run directory left behind are removed by the next build, ``store gc`` or
``prune``, judged by whether the process that made them is alive: a process that opens and locks every file
in the run directory (as a step that could reach it would) does not keep them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.build.conftest import REPO
from tests.hardening.conftest import mounts_under, runc_containers, write_context
from tests.support.images import RUNC


@pytest.fixture(autouse=True)
def _scrub(cli):
    """Whatever a failing test leaves (a container still running, mounts of a killed build) is undone."""
    yield
    for container_id in runc_containers(cli.root):
        runc = [RUNC, "--root", str(cli.root / "state" / "runtime" / "runc"), "delete", "--force", container_id]
        subprocess.run(runc, capture_output=True)
    for point in sorted(mounts_under(cli.root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def _processes_running(marker: str) -> list[int]:
    """Pids of the host's processes whose command line holds ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline.replace(b"\0", b" "):
            found.append(int(entry))
    return found


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _start_sleeping_build(cli, tmp_path: Path, seconds: int):
    """A build whose RUN sleeps ``seconds`` (a number no other process uses); returns (process, marker)
    once the step's sleep runs."""
    marker = f"sleep {seconds}"
    assert not _processes_running(marker)
    ctx = write_context(tmp_path / "ctx", f"FROM busybox\nRUN echo started && {marker}\n")
    build = cli.popen("build", "--no-cache", str(ctx))
    assert _wait_for(lambda: _processes_running(marker), 60), "the step never started"
    return build, marker


def _unique_seconds() -> int:
    return 100000 + secrets.randbelow(800000)


def test_a_step_dies_with_a_killed_pybuild(cli, tmp_path):
    build, marker = _start_sleeping_build(cli, tmp_path, _unique_seconds())
    build.send_signal(signal.SIGKILL)
    build.communicate(timeout=30)
    try:
        assert _wait_for(lambda: not _processes_running(marker), 15), "the step outlived its pybuild"
    finally:
        for pid in _processes_running(marker):
            os.kill(pid, signal.SIGKILL)


def _hold_every_file(run_dirs: list[Path]) -> list[int]:
    """Open and flock every file of the run directories, as a step that could reach them might."""
    fds = []
    for run_dir in run_dirs:
        for path in sorted(run_dir.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                continue
            fds.append(fd)
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fds


@pytest.mark.parametrize("cleaner", [("build",), ("store", "gc"), ("prune", "--all")])
def test_leftovers_of_a_killed_build_go_whatever_is_held(cli, tmp_path, cleaner):
    build, marker = _start_sleeping_build(cli, tmp_path, _unique_seconds())
    runs = cli.root / "state" / "runtime" / "runs"
    run_dirs = list(runs.iterdir())
    assert run_dirs
    held: list[int] = []
    try:
        build.send_signal(signal.SIGKILL)
        build.communicate(timeout=30)
        held = _hold_every_file(run_dirs)
        assert held
        _wait_for(lambda: not _processes_running(marker), 15)
        assert mounts_under(runs), "the killed build left no mount: nothing to clean up"
        if cleaner == ("build",):
            again = write_context(tmp_path / "again", "FROM busybox\nRUN true\n")
            cli("build", "--no-cache", str(again))
        else:
            cli(*cleaner)
        assert not mounts_under(runs)
        assert not list(runs.iterdir())
        assert not runc_containers(cli.root)
    finally:
        for fd in held:
            os.close(fd)
        for pid in _processes_running(marker):
            os.kill(pid, signal.SIGKILL)


def test_a_live_build_is_not_cleaned_up_under_it(cli, tmp_path):
    """Liveness is the owner's: a concurrent cleanup leaves a running build's step alone."""
    build, marker = _start_sleeping_build(cli, tmp_path, _unique_seconds())
    try:
        other = write_context(tmp_path / "other", "FROM busybox\nRUN true\n")
        cli("build", "--no-cache", str(other))  # each build starts by cleaning up after dead ones
        assert _processes_running(marker), "a concurrent build stopped a live build's step"
        assert list((cli.root / "state" / "runtime" / "runs").iterdir())
    finally:
        build.send_signal(signal.SIGTERM)  # the build undoes its own step
        build.communicate(timeout=60)
    assert _wait_for(lambda: not _processes_running(marker), 15)


def test_a_relative_context_never_binds_the_run_directory(cli, tmp_path):
    """A bind mount from a context named by a relative path shows the context (or the build fails cleanly),
    never pybuild's run directory, whose files name the store, nor a store layer through the run directory's
    ``l/0`` link (the context holds an empty ``l/0``)."""
    ctx = write_context(
        tmp_path / "ctx",
        "FROM busybox\n"
        "RUN --mount=type=bind,target=/c cat /c/config.json; ls -A /c; true\n"
        "RUN --mount=type=bind,source=l/0,target=/d echo \"[$(ls -A /d | tr '\\n' ' ')]\"\n",
    )
    (ctx / "l" / "0").mkdir(parents=True)
    # `pybuild build .` from the context directory, the usual way to name it
    result = subprocess.run(
        cli.argv("build", "--progress", "plain", "--no-cache", "."),
        cwd=ctx,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    shown = result.stdout + result.stderr
    assert "Traceback" not in shown
    for leak in ("ociVersion", "resolv.conf", "runc.log", "[bin "):
        assert leak not in shown, shown
    if result.returncode == 0:
        assert "Buildfile" in shown and "[]" in shown, shown
