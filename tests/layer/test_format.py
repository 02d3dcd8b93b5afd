"""What write_layer produces, as other tools see it, and how apply_layer treats odd or broken input."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from builder.layer import ROOT_FORM, LayerError, apply_layer, open_decompressed, write_layer
from builder.layer.whiteouts import XATTR_OPAQUE
from tests.layer.layertree import build, listing, make_tar

TREE = {
    "B": {"kind": "file", "content": b"upper-case sorts first"},
    "a": {"kind": "dir", "children": {"b": {"kind": "file", "content": b"in a"}}},
    "a.txt": {"kind": "file", "content": b"after a's contents: BuildKit walks one directory at a time"},
    "bin": {"kind": "dir", "children": {"sh": {"kind": "file", "content": os.urandom(100_000), "mode": 0o755}}},
}


def write(root: Path, compression: str = "gzip", **kw) -> tuple[bytes, object]:
    out = io.BytesIO()
    info = write_layer(root, out, compression=compression, **kw)
    return out.getvalue(), info


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    build(root, TREE)
    return root


@pytest.mark.parametrize("compression,tool", [("gzip", "gzip"), ("zstd", "zstd")])
def test_standard_tools_read_the_layer_and_agree_on_digests(tree, compression, tool):
    blob, info = write(tree, compression)
    assert info.digest == "sha256:" + hashlib.sha256(blob).hexdigest() and info.size == len(blob)
    plain = subprocess.run([tool, "-dc"], input=blob, capture_output=True, check=True).stdout
    assert info.diff_id == "sha256:" + hashlib.sha256(plain).hexdigest()
    listed = subprocess.run(["tar", "-tf", "-"], input=plain, capture_output=True, check=True).stdout
    assert listed.decode().split() == ["B", "a/", "a/b", "a.txt", "bin/", "bin/sh"]
    assert plain.endswith(b"\0" * 1024) and len(plain) % 512 == 0
    assert plain[257:265] == b"ustar\x0000"  # PAX-capable USTAR headers, as Go's archive/tar writes


def test_uncompressed_layer_digest_is_its_diff_id(tree):
    blob, info = write(tree, "none")
    assert info.digest == info.diff_id == "sha256:" + hashlib.sha256(blob).hexdigest()


def test_empty_directory_gives_dockers_empty_layer(tmp_path):
    """The same diff_id Docker and BuildKit give an empty layer: the tar is just the two end blocks."""
    _, info = write(tmp_path, "gzip")
    assert info.diff_id == "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_same_tree_gives_same_bytes(tree, tmp_path, compression):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(tree), str(copy)], check=True)
    assert write(tree, compression) == write(copy, compression)


def test_clamp_mtime_caps_times_so_rebuilds_match(tree, tmp_path):
    epoch = 1_500_000_000
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(tree), str(copy)], check=True)
    os.utime(copy / "a.txt", (1_999_999_999, 1_999_999_999))
    os.utime(tree / "B", (1_000, 1_000))
    os.utime(copy / "B", (1_000, 1_000))
    assert write(tree, clamp_mtime=epoch)[1] == write(copy, clamp_mtime=epoch)[1]
    with tarfile.open(fileobj=io.BytesIO(write(tree, "none", clamp_mtime=epoch)[0])) as tar:
        assert tar.getmember("B").mtime == 1_000  # older times are kept
        assert tar.getmember("a.txt").mtime == epoch


def test_sockets_are_skipped_and_overlay_xattrs_dropped(tmp_path):
    root = tmp_path / "upper"
    root.mkdir()
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(root / "sock"))
    (root / "d").mkdir()
    os.setxattr(root / "d", "trusted.overlay.origin", b"\0\xfb")
    os.setxattr(root / "d", "trusted.keep", b"v")
    with tarfile.open(fileobj=io.BytesIO(write(root, "none")[0])) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["d"]
    assert members[0].pax_headers == {"SCHILY.xattr.trusted.keep": "v"}


def test_whiteout_in_xattr_form_and_opaque_root(tmp_path):
    root = tmp_path / "upper"
    root.mkdir()
    (root / "gone").touch()
    os.setxattr(root / "gone", "trusted.overlay.whiteout", b"")
    os.setxattr(root, XATTR_OPAQUE, b"y")
    with tarfile.open(fileobj=io.BytesIO(write(root, "none")[0])) as tar:
        assert tar.getnames() == [".wh..wh..opq", ".wh.gone"]


def test_whiteouts_sharing_one_inode_stay_whiteouts(tmp_path):
    """overlayfs may hard-link its whiteouts to one shared inode; each is still its own whiteout."""
    root = tmp_path / "upper"
    root.mkdir()
    os.mknod(root / "one", stat.S_IFCHR, os.makedev(0, 0))
    os.link(root / "one", root / "two")
    with tarfile.open(fileobj=io.BytesIO(write(root, "none")[0])) as tar:
        assert [(m.name, m.isreg()) for m in tar] == [(".wh.one", True), (".wh.two", True)]


def test_names_that_are_not_utf8_round_trip(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    os.mkdir(os.fsencode(src) + b"/dir\xff")
    with open(os.fsencode(src) + b"/dir\xff/latin1-\xe9" + b"x" * 120, "wb") as f:
        f.write(b"data")
    os.symlink(b"target-\xfe", os.fsencode(src) + b"/link")
    blob, info = write(src)
    assert apply_layer(io.BytesIO(blob), dest, form=ROOT_FORM) == info.diff_id
    assert listing(dest) == listing(src)


def test_unreadable_tree_is_a_layer_error(tmp_path):
    with pytest.raises(LayerError, match="cannot archive"):
        write_layer(tmp_path / "missing", io.BytesIO())


def test_plain_tar_with_trailing_bytes_is_applied_and_fully_hashed(tmp_path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:  # GNU-style, with record padding
        info = tarfile.TarInfo("./etc/hostname")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"box\n"))
    data = raw.getvalue() + b"trailing"
    dest = tmp_path / "dest"
    dest.mkdir()
    assert apply_layer(io.BytesIO(data), dest, form=ROOT_FORM) == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (dest / "etc" / "hostname").read_bytes() == b"box\n"


@pytest.mark.parametrize(
    "blob",
    [
        b"\x1f\x8b\x08\x00" + b"\xff" * 200,
        b"\x28\xb5\x2f\xfd" + b"\x00" * 200,
        make_tar([("f", "file", b"x" * 5000)])[:1500],
        make_tar([("f", "file", b"x" * 5000)], "gzip")[:-30],
    ],
    ids=["corrupt gzip", "corrupt zstd", "truncated tar", "truncated gzip"],
)
def test_broken_input_is_a_layer_error(tmp_path, blob):
    with pytest.raises(LayerError):
        apply_layer(io.BytesIO(blob), tmp_path, form=ROOT_FORM)


def test_unknown_options_are_layer_errors(tmp_path):
    with pytest.raises(LayerError, match="compression"):
        write_layer(tmp_path, io.BytesIO(), compression="lz4")
    with pytest.raises(LayerError, match="mode"):
        apply_layer(io.BytesIO(make_tar([])), tmp_path, mode="merge", form=ROOT_FORM)


def test_open_decompressed_leaves_the_stream_open():
    stream = io.BytesIO(make_tar([("f", "file", b"x")], "zstd"))
    with open_decompressed(stream) as plain:
        assert len(plain.read()) > 0
    assert not stream.closed


def test_write_and_apply_of_a_large_file_stream_in_bounded_memory(tmp_path):
    """A 512 MiB file goes through both ends without the process growing anywhere near its size."""
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from builder.layer import ROOT_FORM, apply_layer, write_layer
        src, dst, blob = Path({str(tmp_path)!r}) / "src", Path({str(tmp_path)!r}) / "dst", "{tmp_path}/l.zst"
        src.mkdir(); dst.mkdir()
        with open(src / "big", "wb") as f:
            f.truncate(1 << 29)
        with open(blob, "wb") as out:
            info = write_layer(src, out, compression="zstd")
        with open(blob, "rb") as f:
            assert apply_layer(f, dst, form=ROOT_FORM) == info.diff_id
        assert (dst / "big").stat().st_size == 1 << 29
        # VmHWM is this program's own peak: ru_maxrss would also count the pytest process it was forked from
        print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert int(done.stdout) < 150 * 1024  # KiB: far below the 512 MiB that passed through
