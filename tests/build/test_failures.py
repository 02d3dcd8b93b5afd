"""A build that fails says where and why, exits 1, and leaves the store and the machine clean."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.build.conftest import write_context


def _our_mounts(store: Path) -> list[str]:
    with open("/proc/mounts") as mounts:
        return [line for line in mounts if str(store) in line]


def test_failing_run_names_the_line_exit_code_and_output(pybuild, tmp_path: Path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox:latest\nRUN echo fine\n"
        "RUN echo about to fail; echo last words >&2; exit 3\nRUN echo never\n",
    )
    result = pybuild("-f", str(context / "Buildfile"), str(context), check=False)
    assert result.returncode == 1
    assert f"{context / 'Buildfile'}:3:1: error: RUN exited with code 3" in result.err
    assert "last words" in result.err
    assert "Traceback" not in result.err
    assert "never" not in result.out + result.err
    assert _our_mounts(pybuild.root) == []


def test_syntax_error_is_located_and_exits_2(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUNN echo hi\n")
    result = pybuild("-f", str(context / "Buildfile"), str(context), check=False)
    assert result.returncode == 2
    assert ":2:1: error:" in result.err
    assert "did you mean RUN?" in result.err


def test_missing_base_image_is_a_located_error(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM nosuchimage:1\nRUN true\n")
    result = pybuild("-f", str(context / "Buildfile"), str(context), check=False)
    assert result.returncode != 0
    assert ":1:1: error:" in result.err and "nosuchimage" in result.err


def test_sigint_during_run_cleans_up_and_next_build_works(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo started; sleep 60\n")
    process = pybuild.popen("--progress=plain", "-f", str(context / "Buildfile"), str(context))
    deadline = time.monotonic() + 60
    seen = b""
    while b"started" not in seen and time.monotonic() < deadline:
        seen += process.stdout.read1(4096)
    assert b"started" in seen
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert process.returncode != 0
    assert _our_mounts(pybuild.root) == []
    runc_state = pybuild.root / "state" / "runtime" / "runc"
    assert not runc_state.exists() or list(runc_state.iterdir()) == []
    runs = pybuild.root / "state" / "runtime" / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []
    quick = write_context(tmp_path / "quick", "FROM busybox:latest\nRUN echo ok > /ok\n")
    pybuild("-f", str(quick / "Buildfile"), "-t", "quick:1", str(quick))
    assert pybuild("run", "quick:1", "cat", "/ok").out == "ok\n"
