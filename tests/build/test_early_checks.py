"""Command-line mistakes are refused before any step runs; WORKDIR / as BuildKit; a closed pipe is no error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.build.conftest import REPO, write_context


def test_bad_tag_is_refused_before_any_step_runs(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo RAN-A-STEP\n")
    result = pybuild("--progress=plain", "-t", "good:1", "-t", "Bad:Name:x", str(context), check=False)
    assert result.returncode == 2
    assert "RAN-A-STEP" not in result.err and "running:" not in result.err
    assert pybuild("images", "-q").out.count("\n") == 1  # only the base; "good:1" was not set either


def test_workdir_root_makes_no_layer(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nWORKDIR /tmp\nWORKDIR /\n")
    pybuild("-t", "w:1", str(context))
    inspect = json.loads(pybuild("inspect", "w:1").out)
    inspect = inspect[0] if isinstance(inspect, list) else inspect
    history = inspect["ImageConfig"]["history"][-2:]
    assert [(h["created_by"], bool(h.get("empty_layer"))) for h in history] == [
        ("WORKDIR /tmp", False),
        ("WORKDIR /", True),
    ]
    assert inspect["Config"]["WorkingDir"] == "/"


def test_a_closed_pipe_is_not_an_error_message(pybuild):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before pybuild writes a byte: every write fails with EPIPE
    result = subprocess.run(
        [sys.executable, "-m", "builder", "--root", str(pybuild.root), "inspect", "busybox:latest"],
        stdout=write_end, stderr=subprocess.PIPE, cwd=REPO,
    )  # fmt: skip
    os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == b""
