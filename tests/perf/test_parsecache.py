"""Parsed Buildfiles kept between builds (builder.parsecache): exact round trips, and never a stale or
wrong tree — a changed text, name or parser gives a miss, a damaged entry is ignored, errors are not kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from builder import parsecache
from builder.errors import SyntaxProblem
from builder.parsecache import ParseCache, decode, encode
from builder.syntax import parse
from tests.build.conftest import write_context
from tests.perf.test_startup import _modules_after

VECTORS = Path(__file__).resolve().parents[1] / "conformance" / "buildkit-parser"

SAMPLE = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM $BASE AS build
ENV A=1 B="two words"
RUN --mount=type=cache,target=/c <<EOF
echo hi
EOF
COPY --chmod=755 --from=build a b /dst/
HEALTHCHECK --interval=5s CMD ["true"]
ONBUILD RUN echo later
CMD ["sh", "-c", "echo \\u00e9"]
"""


def _parsed_vectors() -> list[Path]:
    """BuildKit's parser vectors that the typed parser accepts (the others have no tree to keep)."""
    files = sorted((VECTORS / "testfiles").glob("*/Dockerfile"))
    files += sorted((VECTORS / "heredoc").glob("*/Dockerfile"))
    accepted = []
    for path in files:
        try:
            parse(path.read_bytes().decode("utf-8", "surrogateescape"), str(path))
        except SyntaxProblem:
            continue
        accepted.append(path)
    return accepted


@pytest.mark.parametrize("path", _parsed_vectors(), ids=lambda p: p.parent.name)
def test_round_trip_of_buildkit_vectors(path: Path) -> None:
    tree = parse(path.read_bytes().decode("utf-8", "surrogateescape"), str(path))
    assert decode(encode(tree)) == tree


def test_round_trip_keeps_types_and_warnings() -> None:
    tree = parse(SAMPLE + "# syntax=late\n", "Buildfile")
    again = decode(encode(tree))
    assert again == tree
    assert again.warnings == tree.warnings and again.warnings
    assert type(again.instructions[-2]).__name__ == "Onbuild"
    assert isinstance(again.instructions[3].heredocs, tuple)


def test_load_gives_back_what_save_kept(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "parse")
    assert cache.load(SAMPLE, "Buildfile") is None
    tree = parse(SAMPLE, "Buildfile")
    cache.save(SAMPLE, "Buildfile", tree)
    assert cache.load(SAMPLE, "Buildfile") == tree
    assert cache.load(SAMPLE + "LABEL x=y\n", "Buildfile") is None
    assert cache.load(SAMPLE, "other/Buildfile") is None  # spans name the file


def test_a_changed_parser_misses(tmp_path: Path, monkeypatch) -> None:
    cache = ParseCache(tmp_path)
    cache.save(SAMPLE, "Buildfile", parse(SAMPLE, "Buildfile"))
    monkeypatch.setattr(parsecache, "_fingerprint", "another parser")
    assert cache.load(SAMPLE, "Buildfile") is None


def test_damaged_or_foreign_entries_are_misses(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    cache.save(SAMPLE, "Buildfile", parse(SAMPLE, "Buildfile"))
    (entry,) = tmp_path.glob("*.json")
    for damaged in (
        entry.read_text()[:-7],
        json.dumps({"$": "Popen", "args": ["true"]}),
        json.dumps({"$": "Span", "file": "x", "line": 1}),
        "[]",
    ):
        entry.write_text(damaged)
        assert cache.load(SAMPLE, "Buildfile") is None
    cache.save(SAMPLE, "Buildfile", parse(SAMPLE, "Buildfile"))
    assert cache.load(SAMPLE, "Buildfile") is not None


def test_oldest_entries_go_first(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(parsecache, "MAX_ENTRIES", 3)
    cache = ParseCache(tmp_path)
    texts = [f"FROM scratch\nLABEL n={n}\n" for n in range(5)]
    for n, text in enumerate(texts):
        before = set(tmp_path.glob("*.json"))
        cache.save(text, "Buildfile", parse(text, "Buildfile"))
        (new,) = set(tmp_path.glob("*.json")) - before
        os.utime(new, ns=(n * 10**9, n * 10**9))  # distinct ages, whatever the clock's granularity
    assert len(list(tmp_path.glob("*.json"))) == 3
    assert [cache.load(t, "Buildfile") is not None for t in texts] == [False, False, True, True, True]


def test_unusable_directory_is_no_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = ParseCache(blocker / "parse")
    cache.save(SAMPLE, "Buildfile", parse(SAMPLE, "Buildfile"))
    assert cache.load(SAMPLE, "Buildfile") is None


def test_builds_read_the_kept_tree_and_see_every_edit(pybuild, tmp_path: Path) -> None:
    context = write_context(tmp_path / "ctx", "FROM busybox\nLABEL v=1\nRUN echo one > /f\n")
    first = pybuild("build", "--progress", "plain", "-t", "p:1", str(context))
    assert list((pybuild.root / "state" / "parse").glob("*.json"))

    argv = ["--root", str(pybuild.root), "build", "--progress", "plain", "-t", "p:1", str(context)]
    log, modules = _modules_after(argv, tmp_path / "modules.json")
    assert "lark" not in modules and "builder.syntax.scanner" not in modules
    assert log.splitlines()[-1].split()[1] == first.err.splitlines()[-1].split()[1]  # same image ID

    (context / "Buildfile").write_text("FROM busybox\nLABEL v=2\nRUN echo one > /f\n")
    pybuild("build", "-q", "-t", "p:1", str(context))
    labels = json.loads(pybuild("inspect", "p:1").out)
    assert '"v": "2"' in json.dumps(labels)


def test_a_syntax_error_is_reported_on_every_build(pybuild, tmp_path: Path) -> None:
    context = write_context(tmp_path / "ctx", "FROM busybox\nCOPY --bogus=1 a /b\n")
    for _ in range(2):
        failed = pybuild("build", "-t", "bad:1", str(context), check=False)
        assert failed.returncode == 2
        assert "Buildfile:2:" in failed.err and "bogus" in failed.err
