"""Fixtures for the OCI tests: a private store, the CLI run in-process, and a busybox image in the store."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.images import busybox_rootfs  # noqa: E402


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def cli(store_root: Path, capsys):
    """``cli(*args)`` runs ``pybuild --root STORE *args`` in this process; returns a `Result`."""
    from builder.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(["--root", str(store_root), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    return busybox_rootfs(tmp_path / "rootfs")


@pytest.fixture
def busybox(cli, rootfs) -> str:
    """``busybox:latest`` imported into the store; returns its image ID."""
    result = cli("import", str(rootfs), "busybox")
    assert result.code == 0, result.err
    return result.out.strip()
