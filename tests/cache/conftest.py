"""Cache tests build for real, with the build tests' fixtures: a private store holding ``busybox:latest`` and
the CLI run in a child process; plus helpers to read which steps were cached and why the others ran."""

from __future__ import annotations

import re

from tests.build.conftest import Pybuild, busybox_dir, pybuild, write_context

__all__ = ["Pybuild", "busybox_dir", "outcomes", "pybuild", "write_context"]

_HEADER = re.compile(r"^#(\d+) \[(\S+) \d+/\d+\] (.*)$")
_OUTCOME = re.compile(r"^#(\d+) (?:(CACHED)|running: (.*))$")


def outcomes(log: str) -> list[tuple[str, str]]:
    """``[(stage and instruction, "CACHED" or the reason it ran)]`` for each layer step of a plain-progress
    log, in the order the steps ran (config-only steps print no outcome and are left out)."""
    headers: dict[str, str] = {}
    found: list[tuple[str, str]] = []
    for line in log.splitlines():
        if match := _HEADER.match(line):
            headers[match[1]] = f"{match[2]} {match[3]}"
        elif match := _OUTCOME.match(line):
            found.append((headers[match[1]], match[2] or match[3]))
    return found
