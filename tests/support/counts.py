"""Counts that long-running robustness tests report (trials, failures), shown at the end of a pytest run.

`record(line)` keeps a line; the root ``tests/conftest.py`` prints every kept line in the terminal summary, so
CI logs show the counts even under ``pytest -q``, which hides what passing tests print.
"""

from __future__ import annotations

LINES: list[str] = []


def record(line: str) -> None:
    LINES.append(line)
