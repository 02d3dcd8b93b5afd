"""Ignore rules beyond patternmatcher's table: reading, errors with locations, Go-regexp quirks, lookup."""

from __future__ import annotations

from pathlib import Path

import pathspec
import pytest

from builder.context import IgnoreFileError, IgnoreRules, find_ignore_file, read_ignore_file
from builder.errors import EXIT_USAGE, render


def test_reading_rules() -> None:
    text = "# comment\n  # not a comment\r\n*.log\n\n  /build/  \n!  /build/keep\n./a/../b//c/\n"
    assert read_ignore_file(text) == ["# not a comment", "*.log", "build", "!build/keep", "b/c"]
    assert read_ignore_file("a\nb") == ["a", "b"]
    assert read_ignore_file("") == []


def test_docker_semantics_not_gitignore() -> None:
    rules = IgnoreRules(read_ignore_file("*.log\nbuild/\n!build/keep\n**/tmp\n"))
    assert rules.excludes("app.log")
    assert not rules.excludes("logs/app.log")  # unlike gitignore, *.log is anchored at the root
    assert rules.excludes("build/out.o")  # a directory's contents go with it
    assert not rules.excludes("build/keep")
    assert not rules.excludes("build/keep/inner")
    assert rules.excludes("tmp") and rules.excludes("a/b/tmp/c")
    assert not rules.excludes(".")


def test_last_match_wins() -> None:
    assert IgnoreRules(["*.txt", "!keep.txt", "keep.txt"]).excludes("keep.txt")
    assert not IgnoreRules(["*.txt", "keep.txt", "!keep.txt"]).excludes("keep.txt")


def test_go_regexp_quirks_are_kept() -> None:
    # patternmatcher hands these to Go's regexp, so they mean what they mean there.
    assert IgnoreRules(["v\\d"]).excludes("v7") and not IgnoreRules(["v\\d"]).excludes("vd")
    assert IgnoreRules(["[[:upper:]]x"]).excludes("Ax")
    assert not IgnoreRules(["[[:upper:]]x"]).excludes("ax")
    assert IgnoreRules(["[*]"]).excludes("/]")  # "*" becomes [^/]* inside the brackets: class "[^/" then "]"
    assert IgnoreRules(["a.b"]).excludes("a.b") and not IgnoreRules(["a.b"]).excludes("axb")
    assert IgnoreRules(["x\\n"]).excludes("x\n")
    # Go's "$" is the end of the text; Python's would also match before a final newline.
    assert not IgnoreRules(["ab[c]"]).excludes("abc\n")
    assert IgnoreRules(["ab*"]).excludes("ab\n")  # and Go's negated classes match newlines


def test_star_does_not_cross_slash_but_parents_match() -> None:
    rules = IgnoreRules(["docs/*.md"])
    assert rules.excludes("docs/a.md")
    assert not rules.excludes("docs/sub/a.md")
    assert rules.excludes("docs/x.md/inner")  # its parent docs/x.md matches


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("ok\n\nbad[\n", 3, "bad["),
        ("# c\n!\n", 2, '"!"'),
        ("a\\\n", 1, "a\\"),
        ("[z-a]\n", 1, "[z-a]"),
        ("[[:nope:]]\n", 1, "[[:nope:]]"),
        ("x\\q\n", 1, "x\\q"),
    ],
)
def test_bad_pattern_is_located_in_the_file(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / ".dockerignore"
    path.write_text(text)
    with pytest.raises(IgnoreFileError) as caught:
        IgnoreRules.from_file(path)
    error = caught.value
    assert error.exit_code == EXIT_USAGE
    assert error.span is not None and (error.span.file, error.span.line) == (str(path), line)
    assert fragment in error.message
    assert render(error).startswith(f"{path}:{line}:1: error: ")


def test_rules_work_as_a_pathspec() -> None:
    rules = IgnoreRules(["*.md", "**/x", "dir/**", "!dir/keep"])
    # pathspec's own RE2 backend (chosen when google-re2 is installed) reads each pattern's regex text and
    # skips the patterns' match_file, where Docker's rules live: the rules need the "simple" backend.
    spec = pathspec.PathSpec(rules.patterns, backend="simple")
    files = ["a.md", "b/a.md", "x", "q/r/x", "dir/y", "dir/keep", "other"]
    assert sorted(spec.match_files(files)) == ["a.md", "dir/y", "q/r/x", "x"]


def test_find_ignore_file_precedence(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    (context / "sub").mkdir(parents=True)
    buildfile = context / "sub" / "Buildfile"
    buildfile.write_text("FROM scratch\n")
    assert find_ignore_file(context, buildfile) is None
    (context / ".dockerignore").write_text("a\n")
    assert find_ignore_file(context, buildfile) == context / ".dockerignore"
    (context / "sub" / "Buildfile.dockerignore").write_text("b\n")
    assert find_ignore_file(context, buildfile) == context / "sub" / "Buildfile.dockerignore"
    assert find_ignore_file(context, None) == context / ".dockerignore"  # Buildfile from stdin
    (context / ".dockerignore").unlink()
    (context / ".dockerignore").mkdir()  # a directory is not an ignore file
    assert find_ignore_file(context, context / "Buildfile") is None
