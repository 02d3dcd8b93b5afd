"""A quick run of the fuzzers (``fuzz/run.py`` runs 10,000 cases of each): no finding in 300 cases each,
and the harness does report a finding when the code under test misbehaves."""

from __future__ import annotations

import pytest

from fuzz import run, targets
from tests.support import counts


@pytest.mark.parametrize("target", run.TARGETS)
def test_quick_fuzz_finds_nothing(target):
    report = run.run_target(target, 300, derandomize=True)  # the same cases every run: no flaky test
    counts.record(f"{target}: {report.cases} cases, {report.count} findings")
    assert report.cases == 300
    assert report.count == 0, "\n".join(report.findings.values())


def test_the_harness_reports_an_unexpected_exception(monkeypatch):
    def broken(text: str):
        if "FROM" in text:
            raise IndexError("bug")
        return None

    monkeypatch.setattr(targets, "check_parser", broken)
    report = run.run_target("parser", 200, derandomize=True)
    assert report.count > 0
    assert any("IndexError" in finding for finding in report.findings.values())


def test_the_layer_check_notices_a_write_outside_the_target(monkeypatch):
    import builder.layer

    def escaping_apply(stream, dest, mode="overlay", form=None):
        (dest.parent / "pwn").write_bytes(b"x")
        return "sha256:0"

    monkeypatch.setattr(builder.layer, "apply_layer", escaping_apply)
    sandbox = targets.LayerSandbox()
    try:
        assert "outside its target" in sandbox.check(targets.LayerCase(targets.SEED, False))
    finally:
        sandbox.close()


def test_the_document_targets_find_a_config_reader_crash(monkeypatch):
    """Configs decoded without their schema (as before it was checked) make the readers crash on a field of
    the wrong type (``"history": 5``, ``"created": 5``): the target must report that."""
    import json

    import builder.oci.config

    monkeypatch.setattr(builder.oci.config, "parse_config", lambda data, what: json.loads(data))
    report = run.run_target("document-config", 300, derandomize=True)
    assert report.count > 0
    assert any("Error" in finding for finding in report.findings.values()), report.findings


def test_the_document_targets_find_unbounded_nesting(monkeypatch):
    """Without the depth bound, 100,000 nested lists exhaust the recursion limit: a finding."""
    import json

    import builder.oci.schemas

    monkeypatch.setattr(builder.oci.schemas, "load_json", lambda data, what, error=None: json.loads(data))
    report = run.run_target("document-docker-archive", 300, derandomize=True)
    assert any("RecursionError" in finding for finding in report.findings.values()), report.findings


def test_the_ignore_target_reports_a_backtracking_matcher(monkeypatch):
    """With ignore patterns on Python's ``re`` alone (the matcher before RE2), the target's time bound fires
    on the pattern that took 57 s; with pybuild's matcher the same case passes at once."""
    import re

    from fuzz import ignore

    case = ignore.IgnoreCase(("/".join(["**"] * 15) + "/a",), "/".join(["d"] * 27) + "/b")
    assert ignore.check_ignore(case) is None
    import builder.context.gopattern

    monkeypatch.setattr(builder.context.gopattern, "compile_linear", lambda src, _reps, **_: re.compile(src))
    assert ignore.check_ignore(case).startswith("slow: over 2.0 s")
