"""Golden tests of ``pybuild outline``: each ``cases/<name>/`` holds a ``Buildfile``, optional ``args`` (one
command-line word per line) and the ``expected.json`` output. ``PYBUILD_UPDATE_GOLDEN=1`` rewrites the
expected files from the current output (review the diff before committing)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from builder.cli import main
from builder.plan import Platform

CASES = Path(__file__).parent / "cases"
UPDATE = os.environ.get("PYBUILD_UPDATE_GOLDEN") == "1"


def run_outline(case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(case)
    # BUILDPLATFORM and the default target platform are the host's: pin them so the output is the same on
    # every machine.
    monkeypatch.setattr(Platform, "host", classmethod(lambda cls: cls("linux", "amd64")))
    args_file = case / "args"
    extra = args_file.read_text().splitlines() if args_file.exists() else []
    code = main(["outline", "-f", "Buildfile", *extra])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    return out


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_outline_matches_golden(case, capsys, monkeypatch):
    out = run_outline(CASES / case, capsys, monkeypatch)
    expected = CASES / case / "expected.json"
    if UPDATE:
        expected.write_text(out, encoding="utf-8")
    assert out == expected.read_text(encoding="utf-8")
    assert run_outline(CASES / case, capsys, monkeypatch) == out  # stable from one run to the next


def test_outline_reads_stdin(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", _Text("FROM alpine AS x\nWORKDIR /a\n"))
    assert main(["outline", "-f", "-", "--platform", "linux/amd64"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["file"] == "<stdin>"
    assert doc["stages"][0]["instructions"][1] == {"line": 2, "keyword": "WORKDIR", "flags": {}, "args": ["/a"]}


def test_missing_buildfile_is_an_unlocated_usage_error(capsys, tmp_path):
    assert main(["outline", "-f", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read the Buildfile") and "Traceback" not in err


def test_default_buildfile_is_found_in_the_context(capsys, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    assert main(["outline", "--platform", "linux/amd64", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["stages"][0]["base"]["ref"] == "busybox"


class _Text:
    def __init__(self, text: str) -> None:
        self.text = text

    def read(self) -> str:
        return self.text
