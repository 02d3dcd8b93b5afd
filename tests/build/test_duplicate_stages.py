"""A stage name used twice: BuildKit v0.13 builds the file, and the name means the last stage that has it.

Recorded from the reference (Docker 26.1, BuildKit v0.13) with the Buildfile below: the build succeeds, only
the second ``a`` stage runs, and the result's ``/f`` holds ``two``; ``--target a`` gives ``two`` as well.
"""

from __future__ import annotations

from pathlib import Path

from tests.build.conftest import write_context

BUILDFILE = """\
FROM busybox:latest AS a
RUN echo one > /f
FROM busybox:latest AS a
RUN echo two > /f
FROM busybox:latest
COPY --from=a /f /f
"""


def test_copy_from_a_name_used_twice_reads_the_last_stage(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    result = pybuild("build", "--progress=plain", "-t", "dup:1", str(context))
    assert "DuplicateStageName" in result.err  # the build check warns, the build goes on
    assert pybuild("run", "--rm", "dup:1", "cat", "/f").out == "two\n"
    assert "echo one" not in result.err  # the first stage of that name is not needed, so not built


def test_target_names_the_last_stage_of_that_name(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    pybuild("build", "--target", "a", "-t", "dup:a", str(context))
    assert pybuild("run", "--rm", "dup:a", "cat", "/f").out == "two\n"
