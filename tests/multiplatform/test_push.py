"""Multi-platform images in a registry: ``--push`` sends one index over the per-platform manifests, which
skopeo shows and podman runs per platform; ``pybuild push`` of an index tag and pulls per platform."""

from __future__ import annotations

import json
import platform as host_platform
import subprocess

import pytest

from tests.build.conftest import write_context
from tests.registry.servers import Registry
from tests.support.images import Podman

INDEX = "application/vnd.oci.image.index.v1+json"
BUILDFILE = 'FROM bb:multi\nRUN uname -m > /arch\nCMD ["cat", "/arch"]\n'


@pytest.fixture
def registry(tmp_path, monkeypatch):
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text("{}\n")  # podman and skopeo want one; no real credentials are read
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    server = Registry(tmp_path / "registry")
    yield server
    server.stop()


@pytest.fixture
def podman(tmp_path):
    tool = Podman(tmp_path / "podman")
    yield tool
    tool.cleanup()


def skopeo_raw(ref: str) -> dict:
    result = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_push_several_platforms_as_one_index(mp, tmp_path, registry, podman):
    ref = f"{registry.domain}/multi/app:1"
    context = write_context(tmp_path / "ctx", BUILDFILE)
    mp("build", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push", str(context))

    index = skopeo_raw(ref)
    assert index["mediaType"] == INDEX
    # the images, then (a push gets provenance by default, as with buildx) their attestation manifests
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
        {"architecture": "unknown", "os": "unknown"},
        {"architecture": "unknown", "os": "unknown"},
    ]
    assert index["manifests"] == json.loads(mp("inspect", "-f", "{{json .Index.Manifests}}", ref).out)
    for entry in index["manifests"]:
        manifest = skopeo_raw(f"{ref.rsplit(':', 1)[0]}@{entry['digest']}")
        assert manifest["mediaType"] == entry["mediaType"]

    arm = podman.run("run", "--rm", "--platform", "linux/arm64", "--tls-verify=false", ref)
    assert arm.stdout == "aarch64\n"
    native = podman.run("run", "--rm", "--platform", "linux/amd64", "--tls-verify=false", ref)
    assert native.stdout == ("x86_64\n" if host_platform.machine() == "x86_64" else "aarch64\n")


def test_push_command_sends_the_whole_index_and_pulls_choose_a_platform(mp, tmp_path, registry):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    mp("build", "--platform", "linux/amd64,linux/arm64", "-t", "app:1", str(context))
    ref = f"{registry.domain}/pushed/app:2"
    mp("push", "app:1", ref)
    assert skopeo_raw(ref)["manifests"] == json.loads(
        mp("inspect", "-f", "{{json .Index.Manifests}}", "app:1").out
    )

    other = type(mp)(tmp_path / "other-store")
    other("pull", "--platform", "linux/arm64", ref)
    assert other("inspect", "-f", "{{.Architecture}}", ref).out.strip() == "arm64"
    assert other("run", ref).out == "aarch64\n"
    # a build for both platforms on the pushed name takes each platform's manifest from its index
    out = tmp_path / "out"
    downstream = write_context(tmp_path / "downstream", f"FROM {ref}\nRUN cat /arch > /base-arch\n")
    other("build", "--platform", "linux/arm64,linux/amd64", "-o", f"type=local,dest={out}", str(downstream))
    assert (out / "linux_arm64" / "base-arch").read_text() == "aarch64\n"
    assert (out / "linux_amd64" / "base-arch").read_text() == f"{host_platform.machine()}\n"
