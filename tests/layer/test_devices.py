"""Device nodes in layers: only the standard devices every container gets are applied; any other block or
character device is refused, naming the layer and the entry, before anything is made for it.

A deliberate deviation from BuildKit and Docker, which unpack every device node (issue 9).
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from builder.layer import ROOT_FORM, LayerError, apply_layer, open_compressed_writer
from builder.layer.devices import STANDARD_DEVICES, check_node, device_refusal
from tests.layer.layertree import listing, make_tar


def _layer(*nodes: tuple[str, bytes, int, int], compression: str = "none") -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, major, minor in nodes:
            info = tarfile.TarInfo(name)
            info.type, info.devmajor, info.devminor, info.mode = kind, major, minor, 0o666
            tar.addfile(info)
    out = io.BytesIO()
    with open_compressed_writer(out, compression) as w:
        w.write(raw.getvalue())
    return out.getvalue()


REFUSED = [
    ("dev/sda", tarfile.BLKTYPE, 8, 0, "block device 8:0"),
    ("dev/mem", tarfile.CHRTYPE, 1, 1, "character device 1:1"),
    ("dev/kmsg", tarfile.CHRTYPE, 1, 11, "character device 1:11"),
    ("dev/tty1", tarfile.CHRTYPE, 4, 1, "character device 4:1"),
    ("whiteout-looking", tarfile.CHRTYPE, 0, 0, "character device 0:0"),
    ("null-numbers-as-block", tarfile.BLKTYPE, 1, 3, "block device 1:3"),
]


@pytest.mark.parametrize("mode", ["overlay", "flatten"])
@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
@pytest.mark.parametrize(("name", "kind", "major", "minor", "what"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_devices(tmp_path, name, kind, major, minor, what, compression, mode):
    target = tmp_path / "target"
    target.mkdir()
    blob = _layer(("dev/null", tarfile.CHRTYPE, 1, 3), (name, kind, major, minor), compression=compression)
    with pytest.raises(LayerError) as raised:
        apply_layer(io.BytesIO(blob), target, mode=mode, name="sha256:ab12", form=ROOT_FORM)
    assert raised.value.message.startswith(f"layer sha256:ab12: entry '{name}': {what} refused: ")
    assert "null, zero, full, random, urandom, tty, console, ptmx" in raised.value.message
    assert not os.path.lexists(target / name)  # checked before the node is made


def test_the_layer_is_named_only_when_the_caller_names_it(tmp_path):
    with pytest.raises(LayerError) as raised:
        apply_layer(io.BytesIO(_layer(("dev/sda", tarfile.BLKTYPE, 8, 0))), tmp_path, form=ROOT_FORM)
    assert raised.value.message.startswith("layer entry 'dev/sda': block device 8:0 refused: ")


def test_other_refusals_name_the_layer_too(tmp_path):
    with pytest.raises(LayerError) as raised:
        apply_layer(
            io.BytesIO(make_tar([("../pwn", "file", b"x")])), tmp_path, name="sha256:cd34", form=ROOT_FORM
        )
    assert raised.value.message.startswith("layer sha256:cd34: entry '../pwn' contains '..'")
    with pytest.raises(LayerError) as raised:
        apply_layer(io.BytesIO(b"not a tar at all" * 64), tmp_path, name="sha256:ef56", form=ROOT_FORM)
    assert raised.value.message.startswith("layer sha256:ef56: malformed layer tar")


@pytest.mark.parametrize("mode", ["overlay", "flatten"])
def test_standard_devices_and_fifos_are_applied(tmp_path, mode):
    nodes = [(f"dev/{n}", tarfile.CHRTYPE, major, minor) for (major, minor), n in STANDARD_DEVICES.items()]
    blob = _layer(*nodes, ("run/fifo", tarfile.FIFOTYPE, 0, 0))
    apply_layer(io.BytesIO(blob), tmp_path, mode=mode, form=ROOT_FORM)
    rows = listing(tmp_path)
    for (major, minor), n in STANDARD_DEVICES.items():
        kind, mode_bits, *_, rdev, _xattrs, _mtime = rows[f"dev/{n}".encode()]
        assert (kind, mode_bits, rdev) == (stat.S_IFCHR, 0o666, (major, minor))
    assert rows[b"run/fifo"][0] == stat.S_IFIFO


def test_whiteouts_are_names_not_devices(tmp_path):
    """``.wh.`` entries still become 0/0 devices in overlay form: only device *entries* are checked."""
    apply_layer(io.BytesIO(make_tar([(".wh.gone", "file"), ("kept", "file", b"x")])), tmp_path, form=ROOT_FORM)
    st = os.lstat(tmp_path / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def test_the_writer_check_refuses_what_apply_refuses(tmp_path: Path):
    """`check_node` is the layer writer's side of the same rule: a tree with a refused device never becomes
    a layer, so pybuild never makes a layer it would refuse to apply."""
    os.mknod(tmp_path / "sda", stat.S_IFBLK | 0o600, os.makedev(8, 0))
    os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(tmp_path / "fifo")
    for entry in ("null", "fifo"):
        st = os.lstat(tmp_path / entry)
        check_node(entry.encode(), st.st_mode, st.st_rdev)
    st = os.lstat(tmp_path / "sda")
    with pytest.raises(LayerError) as raised:
        check_node(b"dev/sda", st.st_mode, st.st_rdev)
    assert raised.value.message.startswith("/dev/sda: block device 8:0 refused: ")
    assert raised.value.hint and "from the runtime" in raised.value.hint


def test_policy_table():
    for (major, minor), _name in STANDARD_DEVICES.items():
        assert device_refusal(stat.S_IFCHR, major, minor) is None
        assert device_refusal(stat.S_IFBLK, major, minor) is not None
    assert device_refusal(stat.S_IFIFO, 0, 0) is None
    assert device_refusal(stat.S_IFCHR, 0, 0) is not None and "whiteout" in device_refusal(stat.S_IFCHR, 0, 0)
