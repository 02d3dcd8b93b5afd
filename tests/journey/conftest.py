"""The user-journey suite: pybuild as users install and run it.

Once per session, `installed` builds the wheel from this checkout's sources (``pip wheel``, as a user's
``pip install .`` does), makes a fresh virtual environment and installs the wheel into it with its
dependencies from the package index (or pip's cache). Tests then run that environment's ``pybuild`` console
script the way a user types commands at a shell: from a working directory of their own (`User.cd`), with
relative paths, the store chosen by ``PYBUILD_ROOT``, and neither the repository nor ``PYTHONPATH`` anywhere
near the process — so whatever the tool needs at run time must be inside the installed package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.images import busybox_rootfs

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Installed:
    """A virtual environment holding pybuild installed from ``wheel``."""

    venv: Path
    wheel: Path

    @property
    def pybuild(self) -> Path:
        """The console script pip made."""
        return self.venv / "bin" / "pybuild"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def version(self) -> str:
        """The version in the wheel's metadata (its file name: ``pybuild-VERSION-py3-none-any.whl``)."""
        return self.wheel.name.split("-")[1]

    def wheel_names(self) -> list[str]:
        with zipfile.ZipFile(self.wheel) as archive:
            return archive.namelist()


def _run(argv: list, **kwargs) -> None:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        command = " ".join(map(str, argv))
        pytest.fail(f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    """This checkout's wheel, installed with its dependencies into a fresh virtual environment."""
    base = tmp_path_factory.mktemp("install")
    # Built from a copy of what the wheel is made of, so no earlier build's leftovers (build/lib keeps modules
    # deleted since) can reach it; builder/grammar stays the link to grammar/ that it is in the checkout.
    source = base / "source"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "builder", source / "builder", symlinks=True, ignore=ignore)
    shutil.copytree(REPO / "grammar", source / "grammar", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, source], cwd=base)
    (wheel,) = dist.glob("pybuild-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=base)
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=base, env=_clean_env())
    return Installed(venv, wheel)


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would let the source tree or another install leak in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYBUILD_ROOT", "VIRTUAL_ENV")}
    return {**env, **extra}


class Result:
    """A finished command: ``code``, ``out`` and ``err`` as text."""

    def __init__(self, completed: subprocess.CompletedProcess) -> None:
        self.code = completed.returncode
        self.out = completed.stdout.decode("utf-8", "replace")
        self.err = completed.stderr.decode("utf-8", "replace")


class User:
    """Someone at a shell with the installed pybuild on their ``PATH``: `cd` changes the working directory
    (relative to the current one, as the shell's ``cd``), calling runs ``pybuild ARGS`` there."""

    def __init__(self, installed: Installed, home: Path) -> None:
        self.installed = installed
        self.home = home
        self.store = home / ".pybuild-store"
        self.cwd = home
        home.mkdir(parents=True, exist_ok=True)
        path = f"{installed.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        self.env = _clean_env(PATH=path, PYBUILD_ROOT=str(self.store), HOME=str(home))

    def cd(self, path: str | Path) -> User:
        self.cwd = (self.cwd / path).resolve()
        return self

    def __call__(self, *args: str, check: bool = True, input: bytes | None = None, env=None) -> Result:
        completed = subprocess.run(
            ["pybuild", *args],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            timeout=600,
        )
        result = Result(completed)
        if check and result.code != 0:
            command = " ".join(args)
            raise AssertionError(f"pybuild {command} (in {self.cwd}) exited {result.code}:\n{result.err}")
        return result

    def shell(self, command: str) -> Result:
        """``sh -c COMMAND`` in the working directory, with the user's environment (command substitution
        such as ``pybuild run --rm $(pybuild build -q .)``)."""
        completed = subprocess.run(
            ["sh", "-c", command], cwd=self.cwd, env=self.env, capture_output=True, timeout=600
        )
        return Result(completed)


@pytest.fixture(scope="session")
def busybox_tree(tmp_path_factory) -> Path:
    return busybox_rootfs(tmp_path_factory.mktemp("journey-busybox") / "rootfs")


@pytest.fixture
def user(installed: Installed, busybox_tree: Path, tmp_path: Path) -> User:
    """A user whose home is a fresh directory outside the repository, whose store holds ``busybox:latest``
    (made with the installed ``pybuild import``)."""
    person = User(installed, tmp_path / "home")
    person("import", str(busybox_tree), "busybox:latest")
    return person


def write_files(directory: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path → text) under ``directory``; returns it."""
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory
