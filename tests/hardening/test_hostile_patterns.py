"""Ignore patterns (``.dockerignore``, ``COPY --exclude``) that make a backtracking matcher run for hours are
matched in time linear in the path, with Docker's answers (issue 20, item 4)."""

from __future__ import annotations

import csv
import json
import re
import time
from pathlib import Path

import pytest

from builder.context import IgnoreRules
from builder.context.gopattern import REGEXP, go_regexp_source, go_regexp_to_python
from builder.linearre import LinearRegex
from tests.build.conftest import Pybuild

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance" / "dockerignore"

#: Each took Python's backtracking ``re`` from a minute to forever over the paths of `_context`.
HOSTILE = [
    "/".join(["**"] * 15) + "/a",  # 10 of these: 57 s over one 27-deep path; 15 did not finish in 180 s
    "*a" * 12 + "b",  # within one long name
    "**/d/" * 10 + "x",
]
DEEP = "/".join(["d"] * 27)


def _context(base: Path, buildfile: str, ignore: list[str]) -> Path:
    ctx = base / "ctx"
    (ctx / DEEP).mkdir(parents=True)
    (ctx / DEEP / "b").write_text("deep\n")
    (ctx / DEEP / "e").write_text("excluded\n")
    (ctx / ("a" * 200)).write_text("long\n")
    (ctx / "Buildfile").write_text(buildfile)
    (ctx / ".dockerignore").write_text("\n".join(ignore) + "\n")
    return ctx


def _build(tool: Pybuild, ctx: Path, out: Path) -> float:
    started = time.monotonic()
    # On the backtracking matcher this build did not end: the timeout makes that a failure, not a hang.
    tool("build", "-o", f"type=local,dest={out}", str(ctx), timeout=120)
    return time.monotonic() - started


@pytest.mark.parametrize("where", ["dockerignore", "copy-exclude"])
def test_hostile_ignore_patterns_are_matched_quickly(tmp_path: Path, where: str) -> None:
    # Docker's answers: none of the hostile patterns matches; "**/**/e" (many stars, so the linear engine)
    # excludes the deep "e" and keeps its sibling.
    patterns = [*HOSTILE, "**/**/e"]
    if where == "dockerignore":
        ctx = _context(tmp_path, "FROM scratch\nCOPY . /\n", patterns)
    else:
        flags = " ".join(f"--exclude={json.dumps(p)}" for p in patterns)
        ctx = _context(tmp_path, f"FROM scratch\nCOPY {flags} . /\n", [])
    out = tmp_path / "out"
    elapsed = _build(Pybuild(tmp_path / "store"), ctx, out)
    assert elapsed < 30, f"the build took {elapsed:.1f} s"
    assert (out / DEEP / "b").read_text() == "deep\n"
    assert not (out / DEEP / "e").exists()
    assert (out / ("a" * 200)).read_text() == "long\n"


def test_one_hostile_pattern_over_a_deep_path_takes_well_under_a_second() -> None:
    rules = IgnoreRules(HOSTILE)
    for path in (DEEP + "/b", "a" * 250, "d/" * 300 + "y"):
        started = time.monotonic()
        assert not rules.excludes(path)
        assert time.monotonic() - started < 5


def _vector_patterns() -> list[str]:
    patterns = set()
    with open(CONFORMANCE / "patternmatcher_cases.tsv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            patterns.update(pattern.lstrip("!") for pattern in json.loads(row["patterns_json"]))
    with open(CONFORMANCE / "simple.tsv", encoding="utf-8", newline="") as handle:
        patterns.update(
            row["pattern"] for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        )
    return sorted(patterns)


def test_both_engines_agree_on_the_conformance_patterns() -> None:
    """Whichever engine a pattern gets, it gives the other's answer (Python ``re`` on the translation, RE2
    on the Go text), for every pattern of patternmatcher's tables and paths around it."""
    paths = ["a", "a/b", "abc", "a.go", "x/y/z.go", "dir/file.txt", "é/ü", "a\udcff", "\n", "a\nb", "[]", "*"]
    checked = 0
    for pattern in _vector_patterns():
        kind, source = go_regexp_source(pattern)
        try:
            python_source = go_regexp_to_python(source)
        except ValueError:
            continue  # a pattern Docker refuses: the tables check the error
        if kind != REGEXP:
            continue
        python, linear = re.compile(python_source, re.ASCII), LinearRegex(source)
        for path in [*paths, pattern, pattern.replace("*", "x")]:
            assert bool(python.search(path)) == bool(linear.search(path)), (pattern, path)
        checked += 1
    assert checked > 20


def test_a_hostile_copy_source_wildcard_is_matched_quickly(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / ("a" * 250)).write_text("no\n")  # almost matches, in C(250, 10) ways
    (ctx / ("a" * 10 + "b")).write_text("yes\n")
    (ctx / "Buildfile").write_text("FROM scratch\nCOPY " + "*a" * 10 + "b /out/\n")
    out = tmp_path / "out"
    elapsed = _build(Pybuild(tmp_path / "store"), ctx, out)
    assert elapsed < 30, f"the build took {elapsed:.1f} s"
    assert sorted(p.name for p in (out / "out").iterdir()) == ["a" * 10 + "b"]
