"""buildx flags CI scripts pass that have no effect or no counterpart here: accepted where pybuild already
does what they ask (``--load``, ``--provenance=false``…), refused by name otherwise — never ignored.
(Attestations themselves: tests/attest.)"""

from __future__ import annotations

import pytest

from tests.build.conftest import write_context


def _context(tmp_path):
    return write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo loaded > /l\n")


def test_load_and_disabled_attestations_are_accepted(pybuild, tmp_path):
    pybuild(
        "--load", "--provenance=false", "--attest", "type=sbom,disabled=true",
        "-t", "loaded:1", str(_context(tmp_path)),
    )  # fmt: skip
    assert pybuild("run", "loaded:1", "cat", "/l").out == "loaded\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provenance=mode=most"], "invalid --provenance=mode=most: mode=most (expected min or max)"),
        (["--provenance=builder-id=x"], "--provenance=builder-id=x: builder-id is not supported"),
        (
            ["--sbom=generator=docker/scout-sbom-indexer"],
            "generator=docker/scout-sbom-indexer is not supported",
        ),
        (["--attest", "type=vex"], "unknown attestation type 'vex'"),
        (
            ["--provenance=true", "-o", "type=docker,dest=x.tar"],
            "docker exporter does not support exporting manifest",
        ),
        (["--provenance=true", "--attest", "type=provenance"], "duplicate attestation field provenance"),
        (["--cgroup-parent", "ci"], "unrecognized arguments: --cgroup-parent"),
        (["--builder", "ci"], "unrecognized arguments: --builder"),
        (["--squash"], "unrecognized arguments: --squash"),
    ],
)
def test_unsupported_flags_are_refused_by_name(pybuild, tmp_path, args, message):
    result = pybuild(*args, str(_context(tmp_path)), check=False)
    assert result.returncode == 2 and message in result.err
