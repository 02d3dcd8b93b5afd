"""The build command's options and outputs, as a Docker user types them, and the Python API."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import builder
from tests.build.conftest import Pybuild, write_context
from tests.support.images import Podman

BUILDFILE = """\
FROM busybox:latest
ARG MESSAGE=hello
RUN echo "$MESSAGE" > /message
COPY data.txt /data.txt
CMD ["cat", "/message", "/data.txt"]
"""


def _context(tmp_path: Path) -> Path:
    return write_context(tmp_path / "ctx", BUILDFILE, {"data.txt": "data\n"})


def test_outputs_oci_docker_local_tar(pybuild, tmp_path: Path):
    context = _context(tmp_path)
    oci, docker, local, rootfs = (tmp_path / n for n in ("oci.tar", "docker.tar", "local", "rootfs.tar"))
    pybuild(
        "-t", "out:1", str(context),
        "-o", f"type=oci,dest={oci}", "-o", f"type=docker,dest={docker}",
        "-o", f"type=local,dest={local}", "-o", f"type=tar,dest={rootfs}",
    )  # fmt: skip
    inspect = subprocess.run(["skopeo", "inspect", f"oci-archive:{oci}"], capture_output=True, text=True)
    assert inspect.returncode == 0, inspect.stderr
    assert len(json.loads(inspect.stdout)["Layers"]) == 3
    assert (local / "message").read_text() == "hello\n"
    assert (local / "data.txt").read_text() == "data\n"
    assert (local / "bin" / "busybox").is_file()
    listing = subprocess.run(["tar", "-tf", str(rootfs)], capture_output=True, text=True, check=True).stdout
    assert "message" in listing.split() and "data.txt" in listing.split()
    podman = Podman(tmp_path / "podman")
    try:
        podman.run("load", "-i", str(docker))
        assert podman.run("run", "--rm", "docker.io/library/out:1").stdout == "hello\ndata\n"
    finally:
        podman.cleanup()


def test_iidfile_metadata_file_label_and_stdin(pybuild, tmp_path: Path):
    context = _context(tmp_path)
    iid, meta = tmp_path / "iid", tmp_path / "meta.json"
    result = pybuild(
        "-f", "-", "-t", "a:1", "-t", "b:2", "--label", "team=build", "--iidfile", str(iid),
        "--metadata-file", str(meta), str(context), input=BUILDFILE.encode(),
    )  # fmt: skip
    assert result.returncode == 0
    metadata = json.loads(meta.read_text())
    assert metadata["containerimage.config.digest"] == iid.read_text()
    inspect = json.loads(pybuild("inspect", "b:2").out)
    inspect = inspect[0] if isinstance(inspect, list) else inspect
    assert inspect["Config"]["Labels"] == {"team": "build"}
    assert pybuild("run", "a:1").out == "hello\ndata\n"


def test_quiet_prints_only_the_image_id(pybuild, tmp_path: Path):
    result = pybuild("-q", "-t", "q:1", str(_context(tmp_path)))
    assert result.out.strip().startswith("sha256:") and len(result.out.strip()) == 71
    assert result.err == ""


def test_base_for_another_platform_is_a_clear_error(pybuild, tmp_path: Path):
    # the store's busybox is the host's; with --pull=never nothing may be fetched for another platform
    result = pybuild("--platform", "linux/s390x", "--pull=never", str(_context(tmp_path)), check=False)
    assert result.returncode != 0
    assert "s390x" in result.err and "Traceback" not in result.err


def test_python_api_reports_each_step(pybuild, tmp_path: Path):
    context = _context(tmp_path)
    first = builder.build(context, tags=["api:1"], root=pybuild.root, build_args={"MESSAGE": "from the API"})
    assert first.manifest_digest.startswith("sha256:") and first.image_id.startswith("sha256:")
    ran = [(s.text.split()[0], s.cached, s.reason) for s in first.steps if s.layer is not None]
    assert ran == [("RUN", False, "first build"), ("COPY", False, "first build")]
    assert all(s.layer["digest"].startswith("sha256:") and s.layer["size"] > 0 for s in first.steps if s.layer)
    again = builder.build(context, tags=["api:1"], root=pybuild.root, build_args={"MESSAGE": "from the API"})
    assert again.manifest_digest == first.manifest_digest
    assert [s.cached for s in again.steps if s.layer is not None] == [True, True]
    assert pybuild("run", "api:1").out == "from the API\ndata\n"


def test_source_date_epoch_makes_builds_reproducible(tmp_path: Path, busybox_dir: Path):
    context = _context(tmp_path)
    digests = []
    for name in ("one", "two"):
        store = Pybuild(tmp_path / f"store-{name}")
        env_epoch = ["--build-arg", "SOURCE_DATE_EPOCH=1700000000"]
        # the same base image in both stores, as a registry would serve it
        store("import", str(busybox_dir), "busybox:latest", env={"SOURCE_DATE_EPOCH": "1600000000"})
        store("-t", "repro:1", "--iidfile", str(tmp_path / f"{name}.iid"), *env_epoch, str(context))
        digests.append((tmp_path / f"{name}.iid").read_text())
        archive = tmp_path / f"{name}.tar"
        store("save", "--format", "oci", "repro:1", "-o", str(archive))
        inspect = subprocess.run(
            ["skopeo", "inspect", f"oci-archive:{archive}"], capture_output=True, text=True
        )
        assert inspect.returncode == 0, inspect.stderr
        assert json.loads(inspect.stdout)["Created"].startswith("2023-11-14T22:13:20")
    assert digests[0] == digests[1]
    podman = Podman(tmp_path / "podman")
    try:
        podman.run("load", "-i", str(tmp_path / "one.tar"))
        # an OCI archive's image is named by its ref annotation (the tag); run it by ID instead
        image_id = podman.run("images", "-q", "--no-trunc").stdout.split()[0]
        assert image_id.endswith(digests[0].removeprefix("sha256:"))
        assert podman.run("run", "--rm", image_id).stdout == "hello\ndata\n"
    finally:
        podman.cleanup()
