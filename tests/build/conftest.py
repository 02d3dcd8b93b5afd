"""Fixtures for whole builds: a private store with a busybox base image, and the CLI in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.images import busybox_rootfs

REPO = Path(__file__).resolve().parents[2]


class Pybuild:
    """Runs ``pybuild --root STORE ...`` in a child process (as a user would), from the repository root.

    ``env``: variables every call sets over this process's environment (a call's own ``env`` goes last).
    Results carry ``out`` and ``err`` as text; `popen` merges stderr into stdout unless told otherwise.
    """

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(env or {})

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "builder", "--root", str(self.root), *args]

    def _environ(self, env: dict | None) -> dict[str, str]:
        return {**os.environ, **self.env, **(env or {})}

    def __call__(
        self, *args: str, check: bool = True, input: bytes | None = None, timeout: float = 600, env=None
    ):
        result = subprocess.run(
            self.argv(*args),
            capture_output=True,
            input=input,
            cwd=REPO,
            timeout=timeout,
            env=self._environ(env),
        )
        result.out = result.stdout.decode("utf-8", "replace")
        result.err = result.stderr.decode("utf-8", "replace")
        if check and result.returncode != 0:
            raise AssertionError(f"pybuild {' '.join(args)} exited {result.returncode}:\n{result.err}")
        return result

    def popen(self, *args: str, env: dict | None = None, stderr: int = subprocess.STDOUT) -> subprocess.Popen:
        return subprocess.Popen(
            self.argv(*args), stdout=subprocess.PIPE, stderr=stderr, cwd=REPO, env=self._environ(env)
        )


@pytest.fixture(scope="session")
def busybox_dir(tmp_path_factory) -> Path:
    return busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


@pytest.fixture
def pybuild(tmp_path: Path, busybox_dir: Path) -> Pybuild:
    """A fresh store holding ``busybox:latest``."""
    tool = Pybuild(tmp_path / "store")
    tool("import", str(busybox_dir), "busybox:latest")
    return tool


def write_context(directory: Path, buildfile: str, files: dict[str, str] | None = None) -> Path:
    """Make a build context with ``Buildfile`` and ``files`` (relative path → text); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Buildfile").write_text(buildfile)
    for name, text in (files or {}).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory
