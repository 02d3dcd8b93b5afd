"""pybuild installed from its wheel into a fresh virtual environment works from anywhere."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.journey.conftest import REPO, _clean_env

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_the_wheel_carries_the_grammar_as_package_data(installed):
    assert "builder/grammar/buildfile.lark" in installed.wheel_names()
    (copy,) = installed.venv.glob("lib/python*/site-packages/builder/grammar/buildfile.lark")
    assert not copy.is_symlink()
    assert copy.read_bytes() == (REPO / "grammar" / "buildfile.lark").read_bytes()


def test_the_installed_package_is_the_one_that_runs(installed, tmp_path):
    where = subprocess.run(
        [installed.python, "-c", "import builder, lark; print(builder.__file__)"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(installed.venv)), where


def test_version_from_the_installed_metadata(user):
    expected = f"pybuild version {user.installed.version}\n"
    assert user("--version").out == expected
    assert user("version").out == expected


def test_a_sample_builds_and_runs_from_an_unrelated_directory(user, tmp_path):
    elsewhere = user.cd(tmp_path / "home")
    hello = REPO / "samples" / "hello"
    elsewhere("-f", str(hello / "Buildfile"), "-t", "hello:1", str(hello))
    assert elsewhere("run", "--rm", "hello:1").out == "hello from a RUN step\nand hello from a COPY step\n"


def test_samples_copied_away_from_the_checkout_build_with_relative_paths(user, tmp_path):
    shutil.copytree(REPO / "samples", tmp_path / "home" / "samples")
    user("build", "-t", "app:1", "samples/multistage")
    assert user("run", "--rm", "app:1", "there").out == "app 1.0 says hello, there\n"
    # a Buildfile error is located in the file as the user named it, with no traceback
    (tmp_path / "home" / "samples" / "hello" / "Buildfile").write_text("FROM busybox\nRUNN echo\n")
    failed = user("build", "samples/hello", check=False)
    assert failed.code == 2
    assert failed.err.startswith("samples/hello/Buildfile:2:1: error: unknown instruction: RUNN"), failed.err
    assert "Traceback" not in failed.err


def test_no_module_finds_files_beside_its_source():
    """Run-time files are package data found through importlib.resources; nothing in builder/ locates a file
    from its own source path, which would point into a checkout rather than at the installed package."""
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "builder").rglob("*.py"))
        if "__file__" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
