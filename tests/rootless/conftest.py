"""Fixtures for rootless builds: throwaway unprivileged users and a copy of pybuild they can run.

The tests run as root (as CI does) and make real users with ``useradd`` (subordinate ids added with
``usermod --add-subuids``), then run pybuild as them with ``runuser``. The checkout and the Python
packages may live where such a user cannot read (a root-only home), so pybuild, its grammar and its
third-party packages are copied to a world-readable directory, run by a system Python of the same version.
"""

from __future__ import annotations

import importlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: pybuild's third-party imports (and theirs), copied beside the package for the unprivileged user.
_PACKAGES = ("lark", "pathspec", "requests", "urllib3", "idna", "charset_normalizer", "certifi", "tqdm", "isal")
_PACKAGES += ("zstandard", "re2", "shtab", "jsonschema", "jsonschema_specifications", "referencing", "rpds")
_PACKAGES += ("attr", "attrs", "typing_extensions")
_COUNTER = itertools.count()


def _world_can_run(path: Path) -> bool:
    """Whether any user can execute ``path`` (every parent directory searchable)."""
    path = path.resolve()
    parents_ok = all(os.stat(p).st_mode & 0o001 for p in path.parents)
    return parents_ok and bool(os.stat(path).st_mode & 0o001)


def _interpreter() -> str:
    if _world_can_run(Path(sys.executable)):
        return sys.executable
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not system.exists():
        pytest.fail(f"no Python an unprivileged user can run: {sys.executable} is private and {system} missing")
    return str(system)


@pytest.fixture(scope="session")
def code_tree():
    """A world-readable directory holding ``builder/``, ``grammar/`` and ``site/`` (third-party packages)."""
    tree = Path(tempfile.mkdtemp(prefix="pybuild-rootless-", dir="/tmp"))
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("builder", "grammar"):
        shutil.copytree(REPO / name, tree / name, ignore=ignore)
    (tree / "site").mkdir()
    for name in _PACKAGES:
        source = Path(importlib.import_module(name).__file__)
        if source.name == "__init__.py":
            shutil.copytree(source.parent, tree / "site" / name, ignore=ignore)
        else:  # a module of one file
            shutil.copy2(source, tree / "site" / source.name)
    subprocess.run(["chmod", "-R", "a+rX", str(tree)], check=True)
    yield tree
    shutil.rmtree(tree, ignore_errors=True)


class User:
    """An unprivileged user made for a test; ``pybuild(...)`` runs the CLI as that user in its namespace."""

    def __init__(self, code: Path, *, subids: str | None) -> None:
        self.code = code
        self.name = f"pbrl{os.getpid() % 10000}x{next(_COUNTER)}"
        # -K ..._COUNT=0: no automatic ranges, so the user has exactly the ones the test gives
        subprocess.run(
            ["useradd", "-m", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", self.name],
            check=True,
            capture_output=True,
        )
        if subids:
            subprocess.run(
                ["usermod", "--add-subuids", subids, "--add-subgids", subids, self.name],
                check=True,
                capture_output=True,
            )
        self.home = Path(os.path.expanduser(f"~{self.name}"))
        self.uid = int(subprocess.run(["id", "-u", self.name], capture_output=True, text=True).stdout)
        self.store = self.home / "store"
        self.python = _interpreter()

    def run(self, *argv: str, env: dict | None = None, check: bool = True, cwd: Path | None = None):
        """Run ``argv`` as the user with pybuild's tree on PYTHONPATH; stdout/stderr as text."""
        variables = {"PYTHONPATH": f"{self.code}:{self.code / 'site'}", "PYBUILD_ROOT": str(self.store)}
        variables.update(env or {})
        command = ["runuser", "-u", self.name, "--", "env", *(f"{k}={v}" for k, v in variables.items()), *argv]
        result = subprocess.run(command, capture_output=True, text=True, cwd=cwd or self.home, timeout=600)
        if check and result.returncode != 0:
            shown = " ".join(argv)
            raise AssertionError(f"{shown} as {self.name} exited {result.returncode}:\n{result.stderr}")
        return result

    def pybuild(self, *args: str, env: dict | None = None, check: bool = True):
        """``pybuild ARGS`` as the user, entering its user namespace as the CLI does for any non-root user."""
        return self.run(self.python, "-m", "builder.rootless", *args, env=env, check=check)

    def write_context(self, name: str, buildfile: str, files: dict[str, str] | None = None) -> Path:
        """A build context in the user's home, owned by the user (the Buildfile as ``Buildfile``)."""
        context = self.home / name
        context.mkdir(parents=True)
        (context / "Buildfile").write_text(buildfile)
        for relative, text in (files or {}).items():
            (context / relative).parent.mkdir(parents=True, exist_ok=True)
            (context / relative).write_text(text)
        self.give(context)
        return context

    def give(self, path: Path) -> None:
        """Make ``path`` (recursively) the user's."""
        subprocess.run(["chown", "-R", f"{self.name}:{self.name}", str(path)], check=True)

    def remove(self) -> None:
        subprocess.run(["userdel", "-r", "-f", self.name], capture_output=True)
        for table in ("/etc/subuid", "/etc/subgid"):
            lines = Path(table).read_text().splitlines(keepends=True)
            kept = [line for line in lines if not line.startswith(f"{self.name}:")]
            if kept != lines:
                Path(table).write_text("".join(kept))


@pytest.fixture(scope="module")
def user(code_tree):
    """A user with subordinate ids 200000-265535 (container ids 0..65536)."""
    made = User(code_tree, subids="200000-265535")
    yield made
    made.remove()


@pytest.fixture(scope="module")
def plain_user(code_tree):
    """A user without subordinate ids."""
    made = User(code_tree, subids=None)
    yield made
    made.remove()
