"""The error table as a user sees it: ``pybuild outline`` on a broken Buildfile exits 2 and prints
``Buildfile:LINE:COL: error: MESSAGE``, the offending line and a caret under COL, and never a traceback.

Plan errors are checked exactly (message fragment, line, column); a sample of syntax errors checks that the
parser's located errors reach the user the same way.
"""

from __future__ import annotations

import pytest

from builder.cli import main

#: (id, Buildfile, extra arguments, message fragment, line, column)
PLAN_ERRORS = [
    ("run-before-from", "RUN echo hi\nFROM alpine\n", [], "RUN before the first FROM", 1, 1),
    ("env-before-from", "ARG A=1\nENV B=2\nFROM alpine\n", [], "ENV before the first FROM", 2, 1),
    ("copy-before-from", "# c\nCOPY a b\nFROM alpine\n", [], "COPY before the first FROM", 2, 1),
    ("no-from", "ARG ONLY=1\n", [], "has no FROM instruction", 1, 1),
    ("copy-from-bad-ref", "FROM alpine\nCOPY --from=Nope /a /b\n", [], "no stage has this name", 2, 6),
    ("copy-from-var", "FROM alpine\nARG S=x\nCOPY --from=$S /a /b\n", [], "not a valid image reference", 3, 6),
    (
        "copy-from-self-name",
        "FROM alpine AS me\nCOPY --from=me /a /b\n",
        [],
        "refers to the stage it is in",
        2,
        6,
    ),
    (
        "copy-from-self-case",
        "FROM alpine AS me\nCOPY --from=ME /a /b\n",
        [],
        "refers to the stage it is in",
        2,
        6,
    ),
    ("copy-from-self-index", "FROM alpine\nFROM alpine\nCOPY --from=1 / /\n", [], "refers to the stage", 3, 6),
    ("copy-from-index-range", "FROM alpine\nCOPY --from=2 /a /b\n", [], "invalid stage index 2", 2, 6),
    ("copy-from-negative", "FROM alpine\nCOPY --from=-1 /a /b\n", [], "invalid stage index -1", 2, 6),
    (
        "mount-from-self",
        "FROM alpine AS s\nRUN --mount=from=s,target=/m true\n",
        [],
        "refers to the stage",
        2,
        5,
    ),
    (
        "mount-from-bad",
        "FROM alpine\nRUN --mount=from=Bad!,target=/m true\n",
        [],
        "no stage has this name",
        2,
        5,
    ),
    (
        "cycle-two",
        "FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\nCOPY --from=a /y /y\n",
        [],
        "circular dependency between stages: a -> b -> a",
        2,
        6,
    ),
    (
        "cycle-three",
        "FROM alpine AS a\nCOPY --from=c / /\nFROM a AS b\nFROM b AS c\n",
        [],
        "circular dependency between stages: a -> c -> b -> a",
        2,
        6,
    ),
    ("from-blank", "ARG IMG\nFROM $IMG\n", [], "base name ($IMG) should not be blank", 2, 6),
    ("from-blank-arg", 'ARG IMG=""\nFROM ${IMG}\n', [], "should not be blank", 2, 6),
    ("from-uppercase", "FROM Alpine\n", [], "FROM Alpine: not an earlier stage's name", 1, 6),
    ("from-stage-case", "FROM alpine AS build\nFROM Build\n", [], "must be lowercase", 2, 6),
    ("from-bad-chars", "FROM alpine:tag:other\n", [], "not a valid image reference", 1, 6),
    ("from-expands-bad", 'ARG T="a b"\nFROM alpine:$T\n', [], "not a valid image reference", 2, 6),
    ("from-required", "ARG B\nFROM ${B:?set-B-with--build-arg}\n", [], "set-B-with--build-arg", 2, 6),
    ("global-arg-required", "ARG A=${NEED:?no_NEED}\nFROM alpine\n", [], "no_NEED", 1, 7),
    ("workdir-required", "FROM alpine\nWORKDIR /${DIR:?DIR-is-required}\n", [], "DIR-is-required", 2, 10),
    ("env-required", "FROM alpine\nENV A=${B?B_unset}\n", [], "B_unset", 2, 7),
    ("label-required", "FROM alpine\nLABEL x=${L:?}\n", [], "L", 2, 9),
    ("user-required", "FROM alpine\nUSER ${U:?who}\n", [], "who", 2, 6),
    ("copy-required", "FROM alpine\nCOPY ${SRC:?no-source} /dst\n", [], "no-source", 2, 6),
    ("stage-arg-required", "FROM alpine\nARG X=${Y:?need_Y}\n", [], "need_Y", 2, 7),
    ("volume-required", "FROM alpine\nVOLUME /data/${V:?vol}\n", [], "vol", 2, 14),
    ("platform-bad", "FROM --platform=linux/nope alpine\n", [], "failed to parse platform", 1, 6),
    ("platform-blank", "ARG P\nFROM --platform=$P alpine\n", [], "failed to parse platform", 2, 6),
]

#: A sample of the parser's errors, to check they reach the user located like plan errors.
SYNTAX_ERRORS = [
    ("unknown-instruction", "FORM alpine\n", [], "unknown instruction: FORM", 1, 1),
    ("unterminated-heredoc", "FROM alpine\nRUN <<EOF\necho\n", [], "unterminated heredoc EOF", 2, 5),
    (
        "shell-not-json",
        "FROM alpine\nSHELL /bin/sh -c\n",
        [],
        "SHELL requires the arguments to be in JSON",
        2,
        7,
    ),
    ("unknown-flag", "FROM alpine\nCOPY --frm=x a b\n", [], "unknown flag --frm for COPY", 2, 6),
    (
        "bad-duration",
        "FROM alpine\nHEALTHCHECK --interval=abc CMD true\n",
        [],
        "invalid --interval value",
        2,
        13,
    ),
    ("missing-argument", "FROM alpine\nWORKDIR\n", [], "WORKDIR requires exactly one argument", 2, 1),
    ("no-instructions", "# only a comment\n", [], "file with no instructions", 1, 1),
    ("invalid-stage-name", "FROM alpine AS 1bad\n", [], "invalid name for build stage", 1, 16),
    ("json-non-string", 'FROM alpine\nCMD ["a", 1]\n', [], "arrays must be comprised of strings only", 2, 11),
    ("from-extra-argument", "FROM a b\n", [], "FROM requires either one or three arguments", 1, 8),
    ("onbuild-from", "FROM alpine\nONBUILD FROM x\n", [], "FROM isn't allowed as an ONBUILD trigger", 2, 9),
    ("bad-network", "FROM alpine\nRUN --network=bogus true\n", [], 'unsupported network mode "bogus"', 2, 5),
]
ERRORS = PLAN_ERRORS + SYNTAX_ERRORS


def run(tmp_path, monkeypatch, capsys, text: str, extra: list[str]) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Buildfile").write_text(text)
    code = main(["outline", "-f", "Buildfile", "--platform", "linux/amd64", *extra])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("text", "extra", "message", "line", "column"),
    [c[1:] for c in ERRORS],
    ids=[c[0] for c in ERRORS],
)
def test_error_is_located(tmp_path, monkeypatch, capsys, text, extra, message, line, column):
    code, out, err = run(tmp_path, monkeypatch, capsys, text, extra)
    assert code == 2 and out == ""
    first, *rest = err.rstrip("\n").split("\n")
    assert first.startswith(f"Buildfile:{line}:{column}: error: "), err
    assert message in first
    source = text.splitlines()[line - 1]
    assert rest[0] == f"  {source}"
    assert rest[1] == "  " + " " * (column - 1) + "^"
    assert "Traceback" not in err


def test_unknown_target_is_reported_with_the_stage_names(tmp_path, monkeypatch, capsys):
    code, out, err = run(
        tmp_path, monkeypatch, capsys, "FROM alpine AS a\nFROM alpine AS b\n", ["--target", "c"]
    )
    assert code == 2 and out == ""
    assert err == "error: target stage 'c' could not be found\n  stage names: a, b\n"


def test_bad_platform_option_is_a_usage_error(tmp_path, monkeypatch, capsys):
    code, _, err = run(tmp_path, monkeypatch, capsys, "FROM alpine\n", ["--platform", "plan9/nope/x/y"])
    assert code == 2 and err.startswith("error: --platform: failed to parse platform")


def test_malformed_build_arg_is_a_usage_error(tmp_path, monkeypatch, capsys):
    code, _, err = run(tmp_path, monkeypatch, capsys, "FROM alpine\n", ["--build-arg", "=x"])
    assert code == 2 and "expected NAME=VALUE" in err


def test_misspelt_instruction_gets_a_suggestion(tmp_path, monkeypatch, capsys):
    code, _, err = run(tmp_path, monkeypatch, capsys, "FROM alpine\nCOPPY a b\n", [])
    assert code == 2 and err.rstrip("\n").endswith("  did you mean COPY?")
