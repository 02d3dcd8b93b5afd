"""in-toto statements: the bytes BuildKit writes, compact and indented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.attest.intoto import Statement, Subject, go_json

RECORDED = Path(__file__).parent / "recorded"


@pytest.mark.parametrize("name", ["push-max-provenance.intoto.json", "push-min-provenance.intoto.json"])
def test_compact_form_is_byte_for_byte_buildkits(name):
    raw = (RECORDED / name).read_bytes()
    assert go_json(json.loads(raw)) == raw  # includes Go's \u003e escape of '>' in the max build's RUN line


@pytest.mark.parametrize(
    "name", ["local-provenance-max.json", "local-provenance-min.json", "local-provenance-max-target-ssh.json"]
)
def test_indented_form_is_byte_for_byte_buildkits_local_export(name):
    raw = (RECORDED / name).read_bytes()
    assert go_json(json.loads(raw), indent=True) == raw


def test_go_escapes_html_characters_and_line_separators_and_keeps_utf8():
    assert go_json({"a": "<&>\u2028\u2029é"}) == '{"a":"\\u003c\\u0026\\u003e\\u2028\\u2029é"}'.encode()


def test_statement_layout_and_subjects():
    statement = Statement("https://slsa.dev/provenance/v0.2", {"b": 1, "a": 2})
    later = statement.with_subjects([Subject("pkg:docker/app@1", "ab" * 32)])
    assert later.to_bytes() == (
        b'{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2",'
        b'"subject":[{"name":"pkg:docker/app@1","digest":{"sha256":"' + b"ab" * 32 + b'"}}],'
        b'"predicate":{"b":1,"a":2}}'
    )
    assert json.loads(later.to_indented_bytes()) == json.loads(later.to_bytes())


def test_subject_digest_must_be_sha256_hex():
    with pytest.raises(ValueError):
        Subject("x", "sha256:" + "a" * 64)
