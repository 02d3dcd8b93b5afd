"""Crafted layers reach pybuild the way a user's would: ``pybuild load`` of a docker-archive or an OCI layout.

Each escaping layer is refused with a clear error (exit 1, no traceback), nothing lands outside the store, and
the store gains no tag and no layer and still verifies. So is a layer holding a block or character device
other than the standard ones every container gets (null, zero, full, random, urandom, tty, console, ptmx):
a deliberate deviation from BuildKit and Docker, which keep them (issue 9). FIFOs and the standard devices
load, and a step cannot make a layer with a refused device either (ADD of an archive holding one fails).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import tarfile
from pathlib import Path

import pytest

from builder.layer.devices import STANDARD_DEVICES
from tests.hardening.conftest import store_snapshot, write_context
from tests.layer.layertree import make_tar
from tests.layer.test_escape import ESCAPES


def _docker_archive(path: Path, layer: bytes, tag: str = "evil:1") -> Path:
    """A docker-archive holding one image whose only layer is ``layer`` (an uncompressed tar)."""
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": [tag], "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in (("config.json", config), ("layer.tar", layer), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _oci_layout(path: Path, layer: bytes, tag: str = "docker.io/library/evil:1") -> Path:
    """An OCI layout directory with one image whose only layer is ``layer``."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = put(
        json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
        ).encode()
    )
    layer_desc = put(layer)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer_desc}],
    }
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **put(json.dumps(manifest).encode()),
        "annotations": {"io.containerd.image.name": tag},
    }
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return path


def _huge_pax_header() -> bytes:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, (1 << 33) - 1  # claims 8 GiB, holds nothing
    return info.tobuf(format=tarfile.USTAR_FORMAT) + b"\0" * 1024


def _huge_name() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("n" * 2_000_000)
        tar.addfile(info)
    return raw.getvalue()


def _outside(sandbox: Path) -> dict:
    return {p.name: p.read_bytes() for p in sandbox.iterdir() if p.is_file()}


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A directory beside the store with a file an escaping layer would like to overwrite."""
    outer = tmp_path / "outer"
    outer.mkdir()
    (outer / "sentinel").write_bytes(b"precious")
    return outer


def _assert_refused(cli, archive: Path, sandbox: Path) -> str:
    before = store_snapshot(cli.root)
    outside = _outside(sandbox)
    result = cli("load", "-i", str(archive), check=False)
    assert result.returncode == 1, result.out + result.err
    assert "error:" in result.err and "Traceback" not in result.err
    assert len(result.err) < 2000  # a hostile name does not flood the terminal
    after = store_snapshot(cli.root)
    assert (after["tags"], after["layers"], after["cache"]) == (
        before["tags"],
        before["layers"],
        before["cache"],
    )
    assert cli("store", "verify").returncode == 0
    assert os.listdir(cli.root / "tmp") == []
    assert _outside(sandbox) == outside
    assert not os.path.lexists("/pwn") and not os.path.lexists("/etc/pwn") and not os.path.lexists("/pwndir")
    return result.err


@pytest.mark.parametrize("case", ESCAPES, ids=list(ESCAPES))
def test_escaping_layer_in_a_docker_archive_is_refused(cli, tmp_path, sandbox, case):
    entries = [(name.replace("{outer}", str(sandbox)), *rest) for name, *rest in ESCAPES[case]]
    archive = _docker_archive(tmp_path / "evil.tar", make_tar(entries))
    _assert_refused(cli, archive, sandbox)


@pytest.mark.parametrize(
    "case", ["dotdot", "absolute name", "symlink to / then write through it", "hard link to /etc/passwd"]
)
def test_escaping_layer_in_an_oci_layout_is_refused(cli, tmp_path, sandbox, case):
    entries = [(name.replace("{outer}", str(sandbox)), *rest) for name, *rest in ESCAPES[case]]
    layout = _oci_layout(tmp_path / "layout", make_tar(entries))
    err = _assert_refused(cli, layout, sandbox)
    assert re.search(r"\blayer\b", err), err  # refused for its layer, not for a malformed image


@pytest.mark.parametrize(("name", "make"), [("huge pax header", _huge_pax_header), ("2 MB name", _huge_name)])
def test_huge_headers_are_refused(cli, tmp_path, sandbox, name, make):
    err = _assert_refused(cli, _docker_archive(tmp_path / "evil.tar", make()), sandbox)
    assert "layer" in err


def test_layer_not_matching_its_diff_id_is_refused(cli, tmp_path, sandbox):
    archive = _docker_archive(tmp_path / "evil.tar", make_tar([("f", "file", b"x")]))
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    members["layer.tar"] = make_tar([("f", "file", b"swapped")])
    with tarfile.open(archive, "w") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    err = _assert_refused(cli, archive, sandbox)
    assert "diff" in err or "config says" in err


def _nodes(*nodes: tuple[str, bytes, int, int]) -> bytes:
    """A layer tar of device nodes and FIFOs: (name, tar type, major, minor)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, major, minor in nodes:
            info = tarfile.TarInfo(name)
            info.type, info.devmajor, info.devminor, info.mode = kind, major, minor, 0o666
            tar.addfile(info)
    return raw.getvalue()


REFUSED_DEVICES = {
    "block device": (("dev/", tarfile.DIRTYPE, 0, 0), ("dev/sda", tarfile.BLKTYPE, 8, 0)),
    "kernel memory": (("mem", tarfile.CHRTYPE, 1, 1),),
    "a 0:0 device (a whiteout in overlay form, never in a tar)": (("gone", tarfile.CHRTYPE, 0, 0),),
    "block device with null's numbers": (("null", tarfile.BLKTYPE, 1, 3),),
    "after harmless entries": (("dev/null", tarfile.CHRTYPE, 1, 3), ("dev/tty1", tarfile.CHRTYPE, 4, 1)),
}


@pytest.mark.parametrize("form", ["docker-archive", "oci layout"])
@pytest.mark.parametrize("case", REFUSED_DEVICES, ids=list(REFUSED_DEVICES))
def test_layers_with_device_nodes_are_refused(cli, tmp_path, sandbox, case, form):
    *_, (name, kind, major, minor) = REFUSED_DEVICES[case]
    layer = _nodes(*REFUSED_DEVICES[case])
    if form == "docker-archive":
        source = _docker_archive(tmp_path / "dev.tar", layer)
    else:
        source = _oci_layout(tmp_path / "layout", layer)
    err = _assert_refused(cli, source, sandbox)
    what = "block" if kind == tarfile.BLKTYPE else "character"
    assert f"{name}': {what} device {major}:{minor} refused" in err, err
    for dirpath, _, files in os.walk(cli.root):
        for entry in files:
            st = os.lstat(os.path.join(dirpath, entry))
            assert not stat.S_ISBLK(st.st_mode), os.path.join(dirpath, entry)


def test_standard_devices_and_fifos_load_and_work(cli, tmp_path):
    """A rootfs tar's ``dev/`` holds the standard devices: they load, and a RUN can use them (they sit in
    ``/std`` here, since ``/dev`` of a container is the runtime's own)."""
    standard = [(f"std/{n}", tarfile.CHRTYPE, major, minor) for (major, minor), n in STANDARD_DEVICES.items()]
    layer = _nodes(("std/", tarfile.DIRTYPE, 0, 0), *standard, ("std/pipe", tarfile.FIFOTYPE, 0, 0))
    cli("load", "-i", str(_docker_archive(tmp_path / "dev.tar", layer, "devs:1")))
    ctx = write_context(
        tmp_path / "ctx",
        "FROM devs:1\nCOPY --from=busybox / /\n"
        "RUN head -c 4 /std/zero | od -An -tx1 && echo x > /std/null && test -c /std/urandom"
        " && test -p /std/pipe && echo STANDARD-OK\n",
    )
    result = cli("build", "--progress", "plain", str(ctx))
    assert "STANDARD-OK" in result.err + result.out and "00 00 00 00" in result.err + result.out
    assert cli("store", "verify").returncode == 0


def test_add_of_an_archive_with_a_device_fails_the_step(cli, tmp_path):
    """The step would make a layer pybuild refuses to apply: it fails, located, and stores no layer."""
    ctx = write_context(tmp_path / "ctx", "FROM busybox\nCOPY --from=busybox / /\nADD devs.tar /x/\n")
    (ctx / "devs.tar").write_bytes(_nodes(("null", tarfile.CHRTYPE, 1, 3), ("sda", tarfile.BLKTYPE, 8, 0)))
    before = store_snapshot(cli.root)
    result = cli("build", str(ctx), check=False)
    assert result.returncode == 1, result.err
    assert "Buildfile:3:1: error: archive entry 'sda': block device 8:0 refused" in result.err, result.err
    assert "Traceback" not in result.err
    assert store_snapshot(cli.root)["layers"] == before["layers"]
    (ctx / "devs.tar").write_bytes(_nodes(("null", tarfile.CHRTYPE, 1, 3), ("fifo", tarfile.FIFOTYPE, 0, 0)))
    cli("build", "-t", "added:1", str(ctx))
    assert cli("run", "added:1", "sh", "-c", "test -c /x/null && test -p /x/fifo && echo OK").out == "OK\n"


def test_a_run_that_leaves_a_device_fails_the_step(cli, tmp_path):
    """A RUN may make any device node (CAP_MKNOD), but its layer may only keep the standard ones: the step
    fails, located, naming the node, and stores no layer."""
    ctx = write_context(tmp_path / "ctx", "FROM busybox\nRUN mkdir /d\nRUN mknod /d/sda b 8 0\n")
    before = store_snapshot(cli.root)
    result = cli("build", str(ctx), check=False)
    assert result.returncode == 1, result.err
    assert "Buildfile:3:1: error: /d/sda: block device 8:0 refused: " in result.err, result.err
    assert "\n  RUN mknod /d/sda b 8 0\n  ^" in result.err and "Traceback" not in result.err
    assert len(store_snapshot(cli.root)["layers"]) == len(before["layers"]) + 1  # only the mkdir step's
    assert cli("store", "verify").returncode == 0
    (ctx / "Buildfile").write_text("FROM busybox\nRUN mknod /null2 c 1 3 && mknod /x b 8 0 && rm /x\n")
    cli("build", "-t", "made:1", str(ctx))
    assert cli("run", "made:1", "sh", "-c", "test -c /null2 && echo OK").out == "OK\n"


def test_a_refused_layer_is_named_by_its_digest(cli, tmp_path, sandbox):
    layer = _nodes(("dev/sda", tarfile.BLKTYPE, 8, 0))
    err = _assert_refused(cli, _docker_archive(tmp_path / "dev.tar", layer), sandbox)
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    assert f"error: layer {digest}: entry 'dev/sda': block device 8:0 refused: " in err, err
