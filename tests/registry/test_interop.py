"""Interoperability with independent clients: podman pulls and runs what pybuild pushes; pybuild pulls what
skopeo pushes and builds on it; skopeo and pybuild agree on digests."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.images import Podman


def _skopeo(*args: str) -> str:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _digest(cli, ref: str) -> str:
    return json.loads(cli("inspect", ref).out)[0]["Digest"]


@pytest.fixture(autouse=True)
def _docker_config_file(_private_docker_config):
    """podman and skopeo read ``$DOCKER_CONFIG/config.json`` and refuse to start without one."""
    _private_docker_config.mkdir(exist_ok=True)
    (_private_docker_config / "config.json").write_text("{}\n")


@pytest.fixture
def podman(tmp_path):
    tool = Podman(tmp_path / "podman")
    yield tool
    tool.cleanup()


def test_podman_pulls_and_runs_an_image_pybuild_pushed(cli, layered, registry, podman):
    ref = f"{registry.domain}/interop/app:1"
    cli("push", layered, ref)
    podman.run("pull", "--tls-verify=false", ref)
    assert podman.run("run", "--rm", ref).stdout == "hello from the context\n"
    assert podman.run("run", "--rm", ref, "cat", "/built.txt").stdout == "built\n"
    remote = json.loads(_skopeo("inspect", "--tls-verify=false", f"docker://{ref}"))
    assert remote["Digest"] == _digest(cli, layered)


def test_pybuild_pulls_an_image_skopeo_pushed_and_builds_on_it(tmp_path, cli, other_cli, busybox, registry):
    archive = tmp_path / "busybox.tar"
    cli("save", "-o", str(archive), "busybox")
    ref = f"{registry.domain}/skopeo/busybox:1"
    _skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{ref}")
    remote = json.loads(_skopeo("inspect", "--tls-verify=false", f"docker://{ref}"))
    raw = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ref}"))

    pulled = other_cli("pull", ref)
    assert f"Digest: {remote['Digest']}" in pulled.out
    local = json.loads(other_cli("inspect", ref).out)[0]
    assert local["Digest"] == remote["Digest"]
    assert local["Manifest"] == raw  # skopeo wrote a Docker schema2 manifest; it is kept byte for byte
    assert [layer["digest"] for layer in raw["layers"]] == remote["Layers"]

    context = tmp_path / "context"
    context.mkdir()
    (context / "Buildfile").write_text(
        f'FROM {ref}\nRUN echo on-skopeo-base > /made.txt\nCMD ["cat", "/made.txt"]\n'
    )
    other_cli("build", "-f", str(context / "Buildfile"), "-t", "derived:1", str(context))
    assert other_cli("run", "derived:1").out == "on-skopeo-base\n"

    # And back: the derived image pushed by pybuild is what skopeo sees.
    derived = f"{registry.domain}/skopeo/derived:1"
    other_cli("push", "derived:1", derived)
    assert json.loads(_skopeo("inspect", "--tls-verify=false", f"docker://{derived}"))["Digest"] == _digest(
        other_cli, "derived:1"
    )
