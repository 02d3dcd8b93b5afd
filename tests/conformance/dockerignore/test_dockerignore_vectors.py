"""moby/patternmatcher's own tables (see README.md here for their source and format)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from builder.context import IgnoreFileError, IgnoreRules, go_clean, read_ignore_file
from builder.context.gopattern import go_regexp_source

HERE = Path(__file__).parent


def _rows(name: str) -> list[dict[str, str]]:
    with open(HERE / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


CASES = _rows("patternmatcher_cases.tsv")


def test_table_is_complete() -> None:
    assert len(CASES) == 126
    assert {row["goos"] for row in CASES} == {"all", "non-windows"}


def _walk_result(rules: IgnoreRules, path: str) -> bool:
    """The answer a walk gets: each parent first, its info handed down (MatchesUsingParentResults)."""
    parts = go_clean(path).split("/")
    info = None
    excluded = False
    for depth in range(1, len(parts) + 1):
        excluded, info = rules.match_with_parent("/".join(parts[:depth]), info)
    return excluded


@pytest.mark.parametrize("row", CASES, ids=[f"{r['id']}:{r['patterns_json']}:{r['path']}" for r in CASES])
def test_patternmatcher_row(row: dict[str, str]) -> None:
    patterns = json.loads(row["patterns_json"])
    if row["expected"] == "error":
        with pytest.raises(IgnoreFileError) as caught:
            IgnoreRules(patterns)
        assert patterns[-1] in caught.value.message
        return
    rules = IgnoreRules(patterns)
    expected = row["expected"] == "true"
    assert rules.excludes(row["path"]) is expected
    if go_clean(row["path"]) not in (".", "/"):
        assert _walk_result(rules, row["path"]) is expected


SIMPLE = _rows("simple.tsv")


@pytest.mark.parametrize("row", SIMPLE, ids=[f"{r['pattern']}:{r['path']}" for r in SIMPLE])
def test_simple_row(row: dict[str, str]) -> None:
    if row["expected"] == "error":
        with pytest.raises(IgnoreFileError):
            IgnoreRules([row["pattern"]])
    else:
        assert IgnoreRules([row["pattern"]]).excludes(row["path"]) is (row["expected"] == "true")


COMPILED = _rows("compile_internal.tsv")
_KINDS = {"exactMatch": "exact", "prefixMatch": "prefix", "suffixMatch": "suffix", "regexpMatch": "regexp"}


@pytest.mark.parametrize("row", COMPILED, ids=[r["pattern"] for r in COMPILED])
def test_classification_and_go_regexp(row: dict[str, str]) -> None:
    kind, source = go_regexp_source(row["pattern"])
    assert kind == _KINDS[row["match_type"]]
    if kind == "regexp":
        assert source == row["regexp_slash"]


def test_ignorefile_readall() -> None:
    text = (HERE / "ignorefile_readall" / "input.dockerignore").read_text(encoding="utf-8")
    expected = json.loads((HERE / "ignorefile_readall" / "expected_patterns.json").read_text(encoding="utf-8"))
    assert read_ignore_file(text) == expected
    assert read_ignore_file("\ufeff" + text) == expected
    with pytest.raises(IgnoreFileError, match='illegal exclusion pattern: "!"'):
        IgnoreRules(expected)
