"""Finding and starting the reference BuildKit (Docker 26.1 with BuildKit v0.13 and buildx) for the bench.

The script lives outside the repository, in ``shared/tools/`` beside the checkout's parent directory
(``<repo>/../shared/tools/reference-buildkit.sh``). A git worktree may live elsewhere than the main checkout,
so the main checkout's parent is tried too; an explicit path (``--reference-script`` or
``$PYBUILD_BENCH_REFERENCE``) comes first. Nothing here names a path of one machine.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT_NAME = "reference-buildkit.sh"
ENV_VARIABLE = "PYBUILD_BENCH_REFERENCE"
START_TIMEOUT = 900  # the first start downloads and unpacks Docker's Debian packages


@dataclass(frozen=True)
class Reference:
    """A started reference daemon: the environment its script printed, and its versions for the report."""

    env: dict[str, str]
    version: str


def _main_checkout(repo: Path) -> Path | None:
    """The main working tree of the repository ``repo`` belongs to (itself unless ``repo`` is a worktree)."""
    try:
        common = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--path-format=absolute", "--git-common-dir"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if common.returncode != 0 or not common.stdout.strip():
        return None
    return Path(common.stdout.strip()).parent


def candidates(repo: Path, explicit: Path | None, environ: dict[str, str]) -> list[Path]:
    """Where the script is looked for, in order: ``explicit``, ``$PYBUILD_BENCH_REFERENCE``, then
    ``../shared/tools/`` next to ``repo`` and next to the main checkout of a worktree."""
    if explicit is not None:
        return [explicit]
    if environ.get(ENV_VARIABLE):
        return [Path(environ[ENV_VARIABLE])]
    found = [repo.resolve().parent / "shared" / "tools" / SCRIPT_NAME]
    main = _main_checkout(repo)
    if main is not None:
        beside_main = main.resolve().parent / "shared" / "tools" / SCRIPT_NAME
        if beside_main not in found:
            found.append(beside_main)
    return found


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def start(repo: Path, explicit: Path | None, environ: dict[str, str]) -> Reference | str:
    """Start (or find running) the reference daemon; returns it, or one line saying why it cannot run here.

    The script is idempotent and prints ``export ...`` lines; they are evaluated by bash and the resulting
    environment read back, so quoting and ``$PATH`` expansion are bash's own."""
    tried = candidates(repo, explicit, environ)
    script = next((path for path in tried if path.is_file()), None)
    if script is None:
        where = ", ".join(str(path) for path in tried)
        return f"no {SCRIPT_NAME} at {where} (give --reference-script PATH or ${ENV_VARIABLE})"
    shell = 'out=$("$0") || exit $?; eval "$out"; env -0'
    try:
        got = subprocess.run(
            ["bash", "-c", shell, str(script)], capture_output=True, timeout=START_TIMEOUT, env=environ
        )
    except subprocess.TimeoutExpired:
        return f"{script} did not finish within {START_TIMEOUT} s"
    if got.returncode != 0:
        return f"{script} exited {got.returncode}: {_tail(got.stderr.decode(errors='replace'))}"
    env = dict(entry.split("=", 1) for entry in got.stdout.decode(errors="replace").split("\0") if "=" in entry)
    checks = (
        ["docker", "version", "--format", "Docker {{.Server.Version}}"],
        ["docker", "buildx", "version"],
    )
    answers = []
    for cmd in checks:
        try:
            answer = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"`{' '.join(cmd)}` failed after {script}: {error}"
        if answer.returncode != 0:
            return f"`{' '.join(cmd)}` failed after {script}: {_tail(answer.stderr)}"
        answers.append(_tail(answer.stdout))
    buildx = answers[1].split()
    return Reference(env, f"{answers[0]}, buildx {buildx[1] if len(buildx) > 1 else '?'}")
