"""What a fully cached build and ``pybuild --help`` load, and how the process ends.

A cached build is mostly Python start-up: every module it imports is paid on every run. These tests pin the
expensive code that such a build must not load (the registry client, the ignore-file matcher, the container
runtime, the secret plumbing, other commands), and that the quick exit keeps what a user sees: the exit code,
all output, exit handlers, threads still running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from builder.cli import COMMANDS
from tests.build.conftest import REPO, write_context

#: Modules a fully cached build has no use for, each costing milliseconds to import.
NOT_ON_THE_CACHED_PATH = (
    "requests",  # the registry client: the base image is in the store
    "urllib3",
    "pathspec",  # ignore-file patterns: this context has no .dockerignore
    "jsonschema",  # documents are checked when they enter the store, not when a build reads them back
    "asyncio",
    "builder.runtime.runc",  # no container starts
    "builder.runtime.bundle",
    "builder.runtime.overlay",
    "builder.mounts.secrets",  # no step is mounted
    "builder.layer.diff",  # no layer is written
    "builder.registry.client",
    "builder.commands.push",  # only the chosen command's module
    "builder.commands.run",
)

BUILDFILE = """\
FROM busybox
ENV APP=/app
WORKDIR /app
COPY files/ ./files/
RUN --mount=type=cache,target=/cache ls /app/files > /app/list
RUN echo done > /app/done
LABEL a=b
CMD ["cat", "/app/list"]
"""


def _python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )


def _modules_after(argv: list[str], out: Path) -> tuple[str, list[str]]:
    """Run the CLI with ``argv`` in a fresh interpreter; its stderr and every module it had loaded."""
    result = _python(
        """
        import json, sys
        from builder.cli import main
        try:
            code = main(sys.argv[2:])
        except SystemExit as done:  # argparse's --help
            code = done.code
        with open(sys.argv[1], "w") as f:
            json.dump(sorted(sys.modules), f)
        sys.exit(code)
        """,
        str(out),
        *argv,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr, json.loads(out.read_text())


def test_help_lists_every_command_and_configures_none(tmp_path: Path) -> None:
    wide = {**os.environ, "COLUMNS": "300"}  # one line per command, however long its help
    result = subprocess.run(
        [sys.executable, "-m", "builder", "--help"], capture_output=True, text=True, cwd=REPO, env=wide
    )
    assert result.returncode == 0
    for name, (_, help_text) in COMMANDS.items():
        assert name in result.stdout and help_text in result.stdout
    _, modules = _modules_after(["--help"], tmp_path / "modules.json")
    assert [m for m in modules if m.startswith("builder.commands.")] == []


def test_a_command_gets_its_own_options_only(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "builder", "images", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0 and "--no-trunc" in result.stdout
    _, modules = _modules_after(["images", "--help"], tmp_path / "modules.json")
    assert [m for m in modules if m.startswith("builder.commands.")] == ["builder.commands.images"]


def test_fully_cached_build_leaves_the_heavy_code_unloaded(pybuild, tmp_path: Path) -> None:
    files = {f"files/{i}.txt": f"file {i}\n" for i in range(5)}
    context = write_context(tmp_path / "ctx", BUILDFILE, files)
    pybuild("build", "--progress", "plain", "-t", "warm:1", str(context))

    argv = ["--root", str(pybuild.root), "build", "--progress", "plain", "-t", "warm:1", str(context)]
    log, modules = _modules_after(argv, tmp_path / "modules.json")
    assert "0 steps ran, 4 cached" in log
    loaded = [name for name in NOT_ON_THE_CACHED_PATH if name in modules]
    assert loaded == []


def test_a_dockerignore_still_loads_the_matcher_and_applies(pybuild, tmp_path: Path) -> None:
    buildfile = 'FROM busybox\nCOPY . /ctx/\nRUN ls /ctx > /list\nCMD ["cat", "/list"]\n'
    context = write_context(
        tmp_path / "ctx", buildfile, {"keep.txt": "k\n", "skip.log": "s\n", ".dockerignore": "*.log\n"}
    )
    argv = ["--root", str(pybuild.root), "build", "--progress", "plain", "-t", "ign:1", str(context)]
    _, modules = _modules_after(argv, tmp_path / "modules.json")
    assert "pathspec" in modules
    listing = pybuild("run", "ign:1").out.split()
    assert "keep.txt" in listing and "skip.log" not in listing


def test_exit_keeps_code_output_and_exit_handlers() -> None:
    result = _python(
        """
        import atexit, sys
        from builder.cli import exit_process
        atexit.register(lambda: print("handler ran"))
        print("out")
        sys.stderr.write("err\\n")
        exit_process(3)
        print("not reached")
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\nhandler ran\n", "err\n")


def test_exit_waits_for_a_running_thread() -> None:
    result = _python(
        """
        import threading, time
        from builder.cli import exit_process
        def work():
            time.sleep(0.3)
            print("thread finished")
        threading.Thread(target=work).start()
        exit_process(4)
        """
    )
    assert (result.returncode, result.stdout) == (4, "thread finished\n")


def test_usage_error_exit_code_through_python_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "builder", "tag"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 2
    assert "the following arguments are required" in result.stderr
