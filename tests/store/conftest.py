"""Fixtures for the store tests: a fresh store, and a way to run `store_worker.py` as another process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from builder.store import Store

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("store_worker.py")


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "store")
    yield s
    s.close()


@pytest.fixture
def spawn_worker():
    """Start ``store_worker.py ARGS`` as a separate Python process; any still running at the end are killed."""
    procs: list[subprocess.Popen] = []

    def spawn(*args: str, **kwargs) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        proc = subprocess.Popen([sys.executable, str(WORKER), *args], env=env, **kwargs)
        procs.append(proc)
        return proc

    yield spawn
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
