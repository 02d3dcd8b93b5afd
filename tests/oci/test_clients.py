"""Independent clients accept what pybuild writes, and pybuild reads what they write.

podman loads and runs a docker-archive saved by pybuild; skopeo and umoci read pybuild's OCI layouts; archives
written by ``podman save`` and ``skopeo copy … oci-archive:`` load into pybuild with the same digests, and
what pybuild saves from them runs again. podman uses private storage under the test's temp dir.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support.images import Podman

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture
def podman(tmp_path: Path):
    client = Podman(tmp_path / "podman")
    yield client
    client.cleanup()


def tool(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stderr}"
    return result.stdout


def inspect(cli, name: str) -> dict:
    result = cli("inspect", name)
    assert result.code == 0, result.err
    return json.loads(result.out)[0]


def storage(podman: Podman) -> str:
    return f"containers-storage:[overlay@{podman.base / 'root'}+{podman.runroot}]"


def run_ok(podman: Podman, name: str) -> str:
    return podman.run("run", "--rm", "--network", "host", name, "sh", "-c", "echo ok").stdout


def test_docker_archive_loads_and_runs_in_podman(tmp_path, cli, busybox, podman) -> None:
    archive = tmp_path / "busybox.tar"
    assert cli("save", "--format", "docker", "busybox", "-o", str(archive)).code == 0
    assert "Loaded image: docker.io/library/busybox:latest" in podman.run("load", "-i", str(archive)).stdout
    assert podman.run("image", "inspect", "--format", "{{.Id}}", "busybox").stdout.strip() == busybox[7:]
    assert run_ok(podman, "docker.io/library/busybox:latest") == "ok\n"


def test_oci_layout_passes_skopeo_and_umoci(tmp_path, cli, busybox) -> None:
    digest = inspect(cli, "busybox")["Digest"]
    layout = tmp_path / "layout"
    assert cli("save", "--format", "oci-dir", "busybox", "-o", str(layout)).code == 0
    shown = json.loads(tool("skopeo", "inspect", f"oci:{layout}:latest"))
    assert shown["Digest"] == digest and shown["Os"] == "linux"
    config = json.loads(tool("skopeo", "inspect", "--config", f"oci:{layout}:latest"))
    assert config["rootfs"]["diff_ids"] == inspect(cli, "busybox")["RootFS"]["diff_ids"]

    bundle = tmp_path / "bundle"
    tool("umoci", "unpack", "--image", f"{layout}:latest", str(bundle))
    assert (bundle / "rootfs" / "bin" / "busybox").read_bytes() == Path("/bin/busybox").read_bytes()
    assert (bundle / "rootfs" / "bin" / "sh").readlink() == Path("busybox")
    assert (bundle / "rootfs" / "tmp").stat().st_mode & 0o7777 == 0o1777

    archive = tmp_path / "busybox.oci.tar"
    assert cli("save", "--format", "oci", "busybox", "-o", str(archive)).code == 0
    assert json.loads(tool("skopeo", "inspect", f"oci-archive:{archive}:latest"))["Digest"] == digest


def test_podman_save_loads_with_the_same_digests_and_runs_again(tmp_path, cli, busybox, podman, capsys) -> None:
    first = tmp_path / "first.tar"
    assert cli("save", "busybox", "-o", str(first)).code == 0
    podman.run("load", "-i", str(first))
    podman.run("tag", "docker.io/library/busybox:latest", "docker.io/library/from-podman:1")
    saved = tmp_path / "podman-save.tar"
    podman.run("save", "--format", "docker-archive", "-o", str(saved), "docker.io/library/from-podman:1")
    with tarfile.open(saved) as tar:
        podman_manifest = json.load(tar.extractfile("manifest.json"))[0]

    from builder.cli import main

    other = tmp_path / "other"
    capsys.readouterr()
    assert main(["--root", str(other), "load", "-i", str(saved)]) == 0
    assert capsys.readouterr().out == "Loaded image: from-podman:1\n"
    assert main(["--root", str(other), "inspect", "from-podman:1"]) == 0
    loaded = json.loads(capsys.readouterr().out)[0]
    assert loaded["Id"] == busybox == "sha256:" + podman_manifest["Config"].removesuffix(".json")
    assert loaded["RootFS"] == inspect(cli, "busybox")["RootFS"]

    again = tmp_path / "again.tar"
    assert main(["--root", str(other), "save", "from-podman:1", "-o", str(again)]) == 0
    podman.run("rmi", "--all", "--force")
    podman.run("load", "-i", str(again))
    assert run_ok(podman, "docker.io/library/from-podman:1") == "ok\n"


def test_skopeo_oci_archive_loads_with_the_same_digests_and_runs_again(tmp_path, cli, busybox, podman, capsys):
    source = tmp_path / "source.tar"
    assert cli("save", "busybox", "-o", str(source)).code == 0
    podman.run("load", "-i", str(source))
    archive = tmp_path / "skopeo.oci.tar"
    tool(
        "skopeo",
        "copy",
        f"{storage(podman)}docker.io/library/busybox:latest",
        f"oci-archive:{archive}:example.com/base/busybox:2",
    )
    written = json.loads(tool("skopeo", "inspect", "--raw", f"oci-archive:{archive}"))

    from builder.cli import main

    other = tmp_path / "other"
    capsys.readouterr()
    assert main(["--root", str(other), "load", "-i", str(archive)]) == 0
    assert capsys.readouterr().out == "Loaded image: example.com/base/busybox:2\n"
    assert main(["--root", str(other), "inspect", "example.com/base/busybox:2"]) == 0
    loaded = json.loads(capsys.readouterr().out)[0]
    assert loaded["Manifest"]["layers"] == written["layers"]
    assert loaded["Id"] == written["config"]["digest"] == busybox

    again = tmp_path / "again.tar"
    assert main(["--root", str(other), "save", "example.com/base/busybox:2", "-o", str(again)]) == 0
    podman.run("rmi", "--all", "--force")
    podman.run("load", "-i", str(again))
    assert run_ok(podman, "example.com/base/busybox:2") == "ok\n"
