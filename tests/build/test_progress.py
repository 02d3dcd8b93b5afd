"""What a user sees while building: plain step lines in logs, bars in a terminal, and a closing summary."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pyte

from tests.build.conftest import REPO, write_context

BUILDFILE = "FROM busybox:latest\nRUN echo working; dd if=/dev/urandom of=/blob bs=1M count=24 2>/dev/null\n"


def test_plain_progress_names_steps_output_reasons_and_summary(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    err = pybuild("--progress=plain", "-t", "p:1", str(context)).err
    assert re.search(r"^#1 \[stage-0 2/2\] RUN echo working", err, re.M)
    assert "#1 running: first build" in err
    assert re.search(r"^#1 +\d+\.\d\ds working$", err, re.M)  # output lines carry the time since start
    assert re.search(r"^built [0-9a-f]{12} in [\d.]+s: 1 steps ran, 0 cached, [\d.]+MB$", err, re.M)
    again = pybuild("--progress=plain", "-t", "p:1", str(context)).err
    assert "#1 CACHED" in again and "0 steps ran, 1 cached" in again


def test_terminal_progress_shows_a_bar_while_committing(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    command = [sys.executable, "-m", "builder", "--root", str(pybuild.root), "-t", "t:1", str(context)]
    pid, fd = pty.fork()
    if pid == 0:  # the child: pybuild with an 80x24 terminal on stdout and stderr
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.chdir(REPO)
        os.execv(sys.executable, command)
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, screen
    assert "committing layer" in screen  # tqdm's bar, drawn while the layer streams into the store
    assert "built " in screen
    assert "[+] Building" in screen  # the view of running steps and their timers
    terminal = pyte.Screen(80, 200)
    pyte.Stream(terminal).feed(screen)
    rows = [row.rstrip() for row in terminal.display]
    assert not any(row.startswith(("[+] Building", "committing layer")) for row in rows)  # erased at the end
    assert any(re.fullmatch(r"#1 DONE \d+\.\ds", row) for row in rows)
    assert subprocess.run(
        [sys.executable, "-m", "builder", "--root", str(pybuild.root), "run", "t:1", "ls", "/blob"],
        cwd=REPO, capture_output=True,
    ).returncode == 0  # fmt: skip
