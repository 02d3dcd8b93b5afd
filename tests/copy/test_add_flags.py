"""ADD's own flags: ``--unpack`` is refused (BuildKit v0.13 has none), ``--checksum`` is refused
for anything but one http(s) URL, with BuildKit v0.13's messages (recorded with the same Buildfiles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.copy.cases import Case, make_context

ARCHIVE = {"arc.tgz": ("gz", {"g/": "", "g/two": "2\n"})}


def _build(pybuild, context: Path, buildfile: str, *, check: bool = True):
    (context / "Buildfile").write_text(buildfile)
    return pybuild("-f", str(context / "Buildfile"), "-t", "addflags:1", str(context), check=check)


@pytest.mark.parametrize("value", ["true", "false"])
def test_unpack_is_refused_as_buildkit_v013_refuses_it(pybuild, tmp_path: Path, value: str):
    """BuildKit v0.13 has no ``--unpack`` (tests/build/buildkit/add-unpack-flag): refused, never ignored."""
    context = make_context(Case("", archives=ARCHIVE), tmp_path)
    failed = _build(pybuild, context, f"FROM busybox:latest\nADD --unpack={value} arc.tgz /x/\n", check=False)
    assert failed.returncode == 2
    assert "Buildfile:2:5: error: unknown flag --unpack for ADD" in failed.err and "Traceback" not in failed.err


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ("local.txt", "checksum can't be specified for non-HTTP sources"),
        ("https://example.invalid/repo.git", "checksum can't be specified for non-HTTP sources"),
        ("http://127.0.0.1:9/a http://127.0.0.1:9/b", "checksum can't be specified for multiple sources"),
    ],
)
def test_checksum_needs_one_http_source(pybuild, tmp_path: Path, sources: str, message: str):
    context = make_context(Case("", files={"local.txt": "x\n"}), tmp_path)
    digest = "sha256:" + "0" * 64
    failed = _build(
        pybuild, context, f"FROM busybox:latest\nADD --checksum={digest} {sources} /d/\n", check=False
    )
    assert failed.returncode == 1
    assert f"Buildfile:2:1: error: {message}" in failed.err
