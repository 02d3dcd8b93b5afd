"""BuildKit's own parser vectors (tests/conformance/buildkit-parser, see its README for provenance).

The raw parse is compared with BuildKit's ``Node.Dump()`` byte for byte; negative files must fail with a
located error; the line-number, JSON, word-splitting, warning, line-length and heredoc tables converted from
BuildKit's Go tests must hold.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.errors import SyntaxProblem
from builder.syntax import dump_buildkit, parse
from builder.syntax.heredoc import LexError, chomp, find_markers, parse_marker
from builder.syntax.jsonform import NotStringArray, parse_json
from builder.syntax.nodes import parse_words
from builder.syntax.scanner import scan

VECTORS = Path(__file__).resolve().parents[1] / "conformance" / "buildkit-parser"
POSITIVE = sorted(p.name for p in (VECTORS / "testfiles").iterdir())
NEGATIVE = sorted(p.name for p in (VECTORS / "testfiles-negative").iterdir())
MISC = json.loads((VECTORS / "parser_misc.json").read_text(encoding="utf-8"))
HELPERS = json.loads((VECTORS / "heredoc" / "heredoc_helpers.json").read_text(encoding="utf-8"))

#: positive files the typed parser rejects, and why: BuildKit's instruction layer rejects them as well
#: ("Unknown flag: user", "HEALTHCHECK requires at least one argument").
TYPED_REJECTS = {
    "flags": ("unknown flag --user for COPY", 3, 6),
    "health": ("HEALTHCHECK requires at least one argument", 4, 1),
}


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def test_vector_counts_match_the_readme():
    assert len(POSITIVE) == 33 and len(NEGATIVE) == 4
    assert sum(read(VECTORS / "testfiles" / n / "result").count("\n") for n in POSITIVE) == 285


@pytest.mark.parametrize("name", POSITIVE)
def test_dump_matches_buildkit_byte_for_byte(name):
    directory = VECTORS / "testfiles" / name
    assert dump_buildkit(read(directory / "Dockerfile")) + "\n" == read(directory / "result")


def _structure(node) -> dict:
    args = [{"sub": _structure(a.child)} if a.child is not None else a.value for a in node.args]
    return {"cmd": node.keyword.lower(), "flags": [f.text for f in node.flags], "args": args}


@pytest.mark.parametrize("name", POSITIVE)
def test_raw_nodes_match_result_json(name):
    directory = VECTORS / "testfiles" / name
    nodes = scan(read(directory / "Dockerfile"), "Dockerfile").nodes
    assert [_structure(n) for n in nodes] == json.loads(read(directory / "result.json"))


@pytest.mark.parametrize("name", POSITIVE)
def test_typed_parse_of_positive_files(name):
    text = read(VECTORS / "testfiles" / name / "Dockerfile")
    if name not in TYPED_REJECTS:
        assert len(parse(text).instructions) == len(dump_buildkit(text).splitlines())
        return
    fragment, line, column = TYPED_REJECTS[name]
    with pytest.raises(SyntaxProblem) as caught:
        parse(text)
    assert fragment in caught.value.message
    assert (caught.value.span.line, caught.value.span.column) == (line, column)


@pytest.mark.parametrize("name", NEGATIVE)
def test_negative_files_fail_with_a_location(name):
    text = read(VECTORS / "testfiles-negative" / name / "Dockerfile")
    for parser in (dump_buildkit, parse):
        with pytest.raises(SyntaxProblem) as caught:
            parser(text)
        span = caught.value.span
        assert span is not None and span.line >= 1 and span.column >= 1
        assert span.source_line is not None


@pytest.mark.parametrize(
    ("name", "message", "line", "column"),
    [
        ("empty_dockerfile", "file with no instructions", 1, 1),
        ("only_comments", "file with no instructions", 1, 1),
        ("env_no_value", "ENV must have two arguments", 3, 5),
        ("shykes-nested-json", "arrays must be comprised of strings only", 1, 15),
    ],
)
def test_negative_files_messages(name, message, line, column):
    with pytest.raises(SyntaxProblem) as caught:
        parse(read(VECTORS / "testfiles-negative" / name / "Dockerfile"))
    assert message in caught.value.message
    assert (caught.value.span.line, caught.value.span.column) == (line, column)


def test_negative_list_matches():
    assert MISC["negative"]["dirs"] == NEGATIVE


def test_line_numbers():
    case = MISC["line_numbers"]
    nodes = scan(read(VECTORS / case["file"]), "Dockerfile").nodes
    assert [[n.start_line, n.end_line] for n in nodes] == case["children"]
    assert (nodes[0].start_line, nodes[-1].end_line) == (case["ast_start"], case["ast_end"])
    typed = parse(read(VECTORS / case["file"])).instructions
    assert [[i.span.line, i.span.end_line] for i in typed] == case["children"]


@pytest.mark.parametrize("case", MISC["json_arrays"]["valid"], ids=lambda c: c["input"])
def test_json_arrays_valid(case):
    assert [value for value, _ in parse_json(case["input"])] == case["expected"]


@pytest.mark.parametrize("text", MISC["json_arrays"]["invalid_not_string_array"])
def test_json_arrays_with_a_non_string_are_errors(text):
    with pytest.raises(NotStringArray, match="comprised of strings only"):
        parse_json(text)
    with pytest.raises(SyntaxProblem, match="comprised of strings only"):
        parse(f"FROM scratch\nCMD {text}\n")


@pytest.mark.parametrize("case", MISC["parse_words"]["cases"], ids=lambda c: c["input"])
def test_parse_words(case):
    assert [w.value for w in parse_words(case["input"], "\\")] == case["expected"]


def test_empty_continuation_warnings():
    case = MISC["empty_continuation_warnings"]
    warnings = parse(case["dockerfile"]).warnings
    assert len(warnings) == case["expected_warning_count"]
    for warning, fragments in zip(warnings, case["expected_short_contains"], strict=True):
        for fragment in fragments:
            assert fragment in warning


def test_max_line_length():
    case = MISC["max_line"]
    text = case["dockerfile_template"].replace("{a*65536}", "a" * 65536)
    with pytest.raises(SyntaxProblem) as caught:
        parse(text)
    assert caught.value.message == case["expected_error"]
    assert caught.value.span.line == 3
    assert len(parse("FROM x\nLABEL a=" + "b" * (65535 - 8) + "\n").instructions) == 2


@pytest.mark.parametrize("case", ["extracts-heredoc", "json-form-no-heredoc"])
def test_heredocs_extracted(case):
    directory = VECTORS / "heredoc" / case
    nodes = scan(read(directory / "Dockerfile"), "Dockerfile").nodes
    for expected in json.loads(read(directory / "expected.json"))["expected"]:
        got = [
            {"Name": h.marker.name, "FileDescriptor": h.marker.fd, "Expand": h.marker.expand,
             "Chomp": h.marker.chomp, "Content": h.content}
            for h in nodes[expected["child_index"]].heredocs
        ]  # fmt: skip
        assert (got or None) == expected["heredocs"], expected["child_index"]


@pytest.mark.parametrize("word", HELPERS["parse_heredoc_word"]["valid_name_EOF"])
def test_heredoc_word_valid(word):
    assert parse_marker(word).name == "EOF"


@pytest.mark.parametrize("word", HELPERS["parse_heredoc_word"]["invalid_error"])
def test_heredoc_word_invalid(word):
    with pytest.raises(LexError):
        parse_marker(word)


@pytest.mark.parametrize("word", HELPERS["parse_heredoc_word"]["not_heredoc"])
def test_heredoc_word_not_a_heredoc(word):
    assert parse_marker(word) is None


@pytest.mark.parametrize("case", HELPERS["heredocs_from_line"]["cases"], ids=lambda c: c["line"])
def test_heredocs_from_line(case):
    names = [found.marker.name for found in find_markers(case["line"])]
    if case["names"] is None:
        assert names == []
    else:  # upstream checks the names it gets back (``RUN <<- EOF`` yields none there too)
        assert names == case["names"][: len(names)]


def test_heredoc_chomp():
    assert chomp(HELPERS["chomp"]["input"]) == HELPERS["chomp"]["expected"]
