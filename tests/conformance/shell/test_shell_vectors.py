"""BuildKit's own expansion vectors (see README.md here for their source and format), read from the raw files.

envVarTest and wordsTest are parsed the way BuildKit's lex_test.go reads them, so the JSON conversions are
only cross-checked, not trusted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.expand import ExpansionError, expand_word, expand_word_with_matches, expand_words

HERE = Path(__file__).parent
ENV_VAR_ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}


def _env_from_pairs(pairs: list[str]) -> dict[str, str]:
    """BuildKit's EnvsFromSlice: ``NAME`` alone or ``NAME=`` is empty, the last repeat wins."""
    env: dict[str, str] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        env[name] = value
    return env


def _env_var_cases() -> list[tuple[int, str, str]]:
    cases = []
    for number, line in enumerate((HERE / "envVarTest").read_text(encoding="utf-8").split("\n"), start=1):
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        platform, source, expected = (field.strip() for field in line.split("|"))
        if platform in ("A", "U"):  # Linux: "W" lines are Windows-only
            cases.append((number, source, expected))
    return cases


ENV_VAR_CASES = _env_var_cases()


def test_env_var_reader_agrees_with_json() -> None:
    converted = json.loads((HERE / "envVarTest.json").read_text(encoding="utf-8"))
    linux = [c for c in converted["cases"] if c["platform"] in ("A", "U")]
    assert len(ENV_VAR_CASES) == len(linux) == 228
    for (number, source, expected), case in zip(ENV_VAR_CASES, linux, strict=True):
        assert (number, source) == (case["line"], case["input"])
        assert expected == ("error" if case.get("expected_error") else case["expected"])


@pytest.mark.parametrize(("number", "source", "expected"), ENV_VAR_CASES, ids=[f"L{c[0]}" for c in ENV_VAR_CASES])
def test_env_var_vector(number: int, source: str, expected: str) -> None:
    if expected == "error":
        with pytest.raises(ExpansionError) as caught:
            expand_word(source, ENV_VAR_ENV)
        assert caught.value.message.startswith("failed to process ")
    else:
        assert expand_word(source, ENV_VAR_ENV) == expected


def _words_cases() -> list[tuple[int, str, list[str], list[str]]]:
    cases = []
    env_lines: list[str] = []
    for number, line in enumerate((HERE / "wordsTest").read_text(encoding="utf-8").split("\n"), start=1):
        if line.startswith("#") or not line:
            continue
        if line.startswith("ENV "):
            env_lines.append(line[3:].lstrip(" "))
            continue
        source, expected = line.split("|")
        cases.append((number, source.strip(), expected.lstrip(" ").split(","), list(env_lines)))
    return cases


WORDS_CASES = _words_cases()


def test_words_reader_agrees_with_json() -> None:
    converted = json.loads((HERE / "wordsTest.json").read_text(encoding="utf-8"))["cases"]
    assert len(WORDS_CASES) == len(converted) == 24
    for (number, source, expected, env), case in zip(WORDS_CASES, converted, strict=True):
        assert (number, source, env) == (case["line"], case["input"], case["envs"])
        assert expected == (["error"] if case.get("expected_error") else case["expected_words"])


@pytest.mark.parametrize(("number", "source", "expected", "env"), WORDS_CASES, ids=[f"L{c[0]}" for c in WORDS_CASES])
def test_words_vector(number: int, source: str, expected: list[str], env: list[str]) -> None:
    if expected == ["error"]:
        with pytest.raises(ExpansionError):
            expand_words(source, _env_from_pairs(env))
    else:
        assert expand_words(source, _env_from_pairs(env)) == expected


MATCH_CASES = json.loads((HERE / "process_with_matches.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", MATCH_CASES, ids=[c["input"] for c in MATCH_CASES])
def test_process_with_matches_vector(case: dict) -> None:
    if case.get("expected_error"):
        with pytest.raises(ExpansionError):
            expand_word_with_matches(case["input"], case["envs"])
        return
    result, matched, unmatched = expand_word_with_matches(case["input"], case["envs"])
    assert result == case["expected"]
    assert matched == set(case["matched"])
    assert unmatched == set(case["unmatched"])


def _misc_cases() -> list[tuple[str, str, dict[str, str], dict]]:
    misc = json.loads((HERE / "misc_cases.json").read_text(encoding="utf-8"))
    cases = [("mandatory", c["input"], _env_from_pairs(c["envs"]), c) for c in misc["mandatory"]["cases"]]
    cases += [("platform", misc["platform"]["input"], c["envs"], c) for c in misc["platform"]["cases"]]
    cases += [("lookup", "$" + c["name"], _env_from_pairs(c["envs"]), c) for c in misc["env_slice_lookup"]["cases"]]
    return cases


MISC_CASES = _misc_cases()


@pytest.mark.parametrize(("kind", "source", "env", "case"), MISC_CASES, ids=[f"{c[0]}-{c[1]}" for c in MISC_CASES])
def test_misc_vector(kind: str, source: str, env: dict[str, str], case: dict) -> None:
    if "error_contains" in case:
        with pytest.raises(ExpansionError) as caught:
            expand_word(source, env)
        assert case["error_contains"] in caught.value.message
    else:
        assert expand_word(source, env) == case["expected"]
