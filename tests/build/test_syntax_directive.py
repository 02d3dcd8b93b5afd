"""``# syntax=``: the Dockerfile frontend pybuild implements is accepted quietly; any other image gets one
warning that it is not run, and the file builds as Dockerfile syntax."""

from __future__ import annotations

import pytest

from tests.build.conftest import write_context


def test_another_frontend_gets_one_warning(pybuild, tmp_path):
    context = write_context(
        tmp_path / "ctx", "# syntax=example.com/custom/frontend:2\nFROM busybox:latest\nRUN echo x > /x\n"
    )
    for _ in range(2):  # the second build reads the parsed file back from the store: still warned
        result = pybuild("-t", "custom:1", str(context))
        warnings = [line for line in result.err.splitlines() if "warning:" in line]
        assert warnings == [
            f"{context / 'Buildfile'}:1:1: warning: # syntax=example.com/custom/frontend:2 names a frontend "
            "pybuild does not run; the file is read as the Dockerfile syntax pybuild implements"
        ]
    assert pybuild("run", "custom:1", "cat", "/x").out == "x\n"


@pytest.mark.parametrize(
    "image",
    ["docker/dockerfile:1", "docker/dockerfile:1.7-labs", "docker.io/docker/dockerfile:1.7.1",
     "docker/dockerfile-upstream:1.8"],
)  # fmt: skip
def test_the_dockerfile_frontend_is_not_warned_about(pybuild, tmp_path, image):
    context = write_context(tmp_path / "ctx", f"# syntax={image}\nFROM busybox:latest\n")
    assert "warning" not in pybuild(str(context)).err
