"""The samples build from the repository and their images run, under `pybuild run` and under podman."""

from __future__ import annotations

from pathlib import Path

from tests.build.conftest import REPO
from tests.support.images import Podman


def test_hello_sample_builds_and_runs(pybuild):
    pybuild("-f", "samples/hello/Buildfile", "-t", "hello:1", "samples/hello")
    result = pybuild("run", "--rm", "hello:1")
    assert result.out == "hello from a RUN step\nand hello from a COPY step\n"


def test_hello_sample_build_arg_reaches_run(pybuild):
    pybuild(
        "build", "-f", "samples/hello/Buildfile", "--build-arg", "GREETING=hi", "-t", "hi:1", "samples/hello"
    )
    assert pybuild("run", "hi:1").out.startswith("hi from a RUN step\n")


def test_multistage_sample_final_image_has_only_the_artifact(pybuild):
    pybuild("-f", "samples/multistage/Buildfile", "-t", "app:1", "samples/multistage")
    assert pybuild("run", "--rm", "app:1").out == "app 1.0 says hello, world\n"
    assert pybuild("run", "app:1", "CI").out == "app 1.0 says hello, CI\n"
    # the build stage's sources did not reach the final image
    assert pybuild("run", "--entrypoint", "ls", "app:1", "/src", check=False).returncode != 0


def test_samples_run_under_podman(pybuild, tmp_path: Path):
    pybuild("-f", "samples/hello/Buildfile", "-t", "hello:1", str(REPO / "samples/hello"))
    pybuild("-f", "samples/multistage/Buildfile", "-t", "app:1", str(REPO / "samples/multistage"))
    archive = tmp_path / "images.tar"
    pybuild("save", "hello:1", "app:1", "-o", str(archive))
    podman = Podman(tmp_path / "podman")
    try:
        podman.run("load", "-i", str(archive))
        assert podman.run("run", "--rm", "docker.io/library/hello:1").stdout == (
            "hello from a RUN step\nand hello from a COPY step\n"
        )
        assert podman.run("run", "--rm", "docker.io/library/app:1").stdout == "app 1.0 says hello, world\n"
    finally:
        podman.cleanup()
