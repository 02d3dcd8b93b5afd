"""Where the bench looks for the reference BuildKit script, and what it says when it cannot start it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench import reference

REPO = Path(__file__).resolve().parents[2]


def test_explicit_path_then_environment_then_beside_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "work" / "main"
    repo.mkdir(parents=True)
    explicit = tmp_path / "mine.sh"
    assert reference.candidates(repo, explicit, {reference.ENV_VARIABLE: "/elsewhere.sh"}) == [explicit]
    assert reference.candidates(repo, None, {reference.ENV_VARIABLE: "/elsewhere.sh"}) == [
        Path("/elsewhere.sh")
    ]
    beside = tmp_path / "work" / "shared" / "tools" / "reference-buildkit.sh"
    assert reference.candidates(repo, None, {})[0] == beside


def test_a_worktree_also_looks_beside_its_main_checkout(tmp_path: Path) -> None:
    main = tmp_path / "work" / "main"
    main.mkdir(parents=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", str(main)], check=True)
    subprocess.run([*git, "-C", str(main), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    worktree = tmp_path / "elsewhere" / "wt"
    subprocess.run([*git, "-C", str(main), "worktree", "add", "-q", str(worktree)], check=True)
    found = reference.candidates(worktree, None, {})
    assert found == [
        tmp_path / "elsewhere" / "shared" / "tools" / "reference-buildkit.sh",
        tmp_path / "work" / "shared" / "tools" / "reference-buildkit.sh",
    ]


def test_a_missing_or_failing_script_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    missing = reference.start(REPO, tmp_path / "absent.sh", dict(os.environ))
    assert isinstance(missing, str)
    assert "absent.sh" in missing and "--reference-script" in missing and "\n" not in missing
    failing = tmp_path / "failing.sh"
    failing.write_text("#!/bin/sh\necho 'cannot download docker.io' >&2\nexit 7\n")
    failing.chmod(0o755)
    said = reference.start(REPO, failing, dict(os.environ))
    assert said == f"{failing} exited 7: cannot download docker.io"


def test_run_says_so_in_one_line_and_goes_on_without_the_column(tmp_path: Path) -> None:
    """As root (run.py needs it; CI runs as root): one warm small build by pybuild alone."""
    absent = tmp_path / "absent.sh"
    cmd = [sys.executable, "bench/run.py", "--quick", "--workloads", "small-warm", "--no-buildah"]
    cmd += ["--reference-script", str(absent), "--bench-dir", str(tmp_path / "bench")]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    said = [line for line in done.stdout.splitlines() if line.startswith("BuildKit: not measured")]
    assert len(said) == 1 and str(absent) in said[0]
    header = next(line for line in done.stdout.splitlines() if line.startswith("| workload"))
    assert "BuildKit" not in header
    row = next(line for line in done.stdout.splitlines() if line.startswith("| small-warm"))
    assert row.split("|")[2].strip()[0].isdigit()  # pybuild's build was timed
    assert sorted(p.name for p in (tmp_path / "bench").iterdir()) == ["buildfiles", "inputs", "logs", "results"]
