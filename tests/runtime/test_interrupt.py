"""Interrupting a running step, and cleaning up after a pybuild that was killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from builder.runtime import cleanup_stale, overlay
from builder.runtime.mounts import mountpoints_under
from tests.runtime.runtime_helpers import runc_containers

CHILD = Path(__file__).with_name("step_child.py")
REPO = Path(__file__).resolve().parents[2]


def start_long_step(state_dir: Path, upper: Path, lowers: list[Path]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(state_dir), str(upper), *map(str, lowers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"started\n"
    return child


def assert_nothing_left(state_dir: Path, upper: Path) -> None:
    assert mountpoints_under(state_dir) == []
    assert runc_containers(state_dir) == []
    assert list((state_dir / "runs").iterdir()) == []
    # The overlay workdir beside the upperdir is gone too.
    assert sorted(p.name for p in upper.parent.iterdir()) == [upper.name]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_a_step_undoes_everything(tmp_path, state_dir, base, step, signum):
    upper = tmp_path / "uppers" / "interrupted"
    upper.parent.mkdir()
    child = start_long_step(state_dir, upper, base)
    assert mountpoints_under(state_dir) != []
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode != 0
    assert b"KeyboardInterrupt" in stderr
    assert_nothing_left(state_dir, upper)
    # What the step wrote before it was stopped stays in the upperdir, and no trace of a mountpoint.
    assert sorted(os.listdir(upper)) == ["marker"]
    status, output, _ = step(base, "echo next")
    assert (status, output) == (0, "next\n")


def test_cleanup_stale_removes_what_a_killed_process_left(tmp_path, state_dir, base, step):
    upper = tmp_path / "uppers" / "killed"
    upper.parent.mkdir()
    child = start_long_step(state_dir, upper, base)
    child.kill()
    child.wait(timeout=30)
    # SIGKILL leaves the container running and its rootfs mounted.
    [container] = runc_containers(state_dir)
    assert mountpoints_under(state_dir) != []

    assert cleanup_stale(state_dir) == [container]
    assert_nothing_left(state_dir, upper)
    assert cleanup_stale(state_dir) == []
    status, _, _ = step(base, "true")
    assert status == 0


def test_cleanup_stale_leaves_live_runs_alone(tmp_path, state_dir, base):
    with overlay(base, tmp_path / "upper", state_dir=state_dir) as rootfs:
        assert cleanup_stale(state_dir) == []
        assert (rootfs / "bin" / "busybox").exists()
        assert mountpoints_under(state_dir) == [rootfs]


def test_cleanup_stale_on_an_unused_state_dir(tmp_path):
    assert cleanup_stale(tmp_path / "never-used") == []


@pytest.mark.root  # a container started by a child process
def test_cleanup_stale_spares_a_container_started_while_it_runs(tmp_path, state_dir, base, monkeypatch):
    """A concurrent build may start its container after cleanup listed the run directories: it stays."""
    from builder.runtime import cleanup

    upper = tmp_path / "uppers" / "concurrent"
    upper.parent.mkdir()
    started = []
    listed = cleanup._runc_containers

    def other_build_starts_first(state: Path) -> list[str]:
        started.append(start_long_step(state_dir, upper, base))  # fault injection: the race, made certain
        return listed(state)

    monkeypatch.setattr(cleanup, "_runc_containers", other_build_starts_first)
    try:
        assert cleanup_stale(state_dir) == []
        [child] = started
        assert len(runc_containers(state_dir)) == 1
        assert child.poll() is None
    finally:
        for child in started:
            child.send_signal(signal.SIGINT)
            child.communicate(timeout=30)
    assert_nothing_left(state_dir, upper)
