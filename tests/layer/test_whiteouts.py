"""Whiteouts and opaque directories: written from overlay form, applied in both modes, in any tar order."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from builder.layer import ROOT_FORM, apply_layer, write_layer
from builder.layer.whiteouts import XATTR_OPAQUE
from tests.layer.layertree import build, listing, make_tar

T = 1_600_000_000


def f(content: bytes = b"", **meta) -> dict:
    return {"kind": "file", "content": content, "mtime": T, **meta}


def d(children: dict | None = None, **meta) -> dict:
    return {"kind": "dir", "children": children or {}, "mtime": T, "mode": 0o755, **meta}


def whiteout() -> dict:
    return {"kind": "chr", "rdev": (0, 0), "mode": 0, "mtime": T}


def opaque(children: dict | None = None) -> dict:
    return d(children, xattrs={XATTR_OPAQUE: b"y"})


def layer_bytes(tmp: Path, tree: dict, compression: str = "gzip") -> bytes:
    src = tmp / f"src{len(list(tmp.iterdir()))}"
    src.mkdir()
    build(src, tree)
    out = io.BytesIO()
    write_layer(src, out, compression=compression)
    return out.getvalue()


def tar_names(blob: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        return [m.name for m in tar]


@contextmanager
def overlay(lowers: list[Path], target: Path, upper: Path | None = None, work: Path | None = None):
    """A real overlayfs mount of ``lowers`` (top first), read-only unless ``upper`` is given."""
    target.mkdir(exist_ok=True)
    options = "lowerdir=" + ":".join(str(p) for p in lowers)
    if upper is not None:
        options += f",upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(target)], check=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


LOWER = {
    "a": d({"x": f(b"x"), "y": f(b"y")}),
    "b": d({"z": f(b"z")}),
    "c": f(b"c"),
    "deep": d({"er": d({"f": f(b"f")})}),
}


def test_written_overlay_form_uses_oci_markers(tmp_path):
    upper = {"a": d({"x": whiteout()}), "b": opaque({"new": f(b"n")}), "deep": whiteout()}
    names = tar_names(layer_bytes(tmp_path, upper, "none"))
    assert names == ["a", "a/.wh.x", "b", "b/.wh..wh..opq", "b/new", ".wh.deep"]


def test_layers_flatten_onto_a_rootfs(tmp_path):
    layers = [
        LOWER,
        {"a": d({"x": whiteout()}), "b": opaque({"new": f(b"n")}), "deep": whiteout(), "e": f(b"e")},
        {"deep": f(b"now a file"), "a": opaque({"q": f(b"q")}), "e": whiteout()},
    ]
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    for tree in layers:
        apply_layer(io.BytesIO(layer_bytes(tmp_path, tree)), rootfs, mode="flatten", form=ROOT_FORM)
    expected = tmp_path / "expected"
    expected.mkdir()
    build(expected, {"a": d({"q": f(b"q")}), "b": d({"new": f(b"n")}), "c": f(b"c"), "deep": f(b"now a file")})
    assert listing(rootfs) == listing(expected)


# Each case: a layer whose markers stand in an unusual place, applied over LOWER; the expected result.
ORDER_CASES = {
    "opaque marker after the directory's entries": (
        [("b/", "dir"), ("b/new", "file", b"n"), ("b/.wh..wh..opq", "file")],
        {"b": {"new": b"n"}},
    ),
    "opaque marker before its directory": (
        [("b/.wh..wh..opq", "file"), ("b/", "dir"), ("b/new", "file", b"n")],
        {"b": {"new": b"n"}},
    ),
    "whiteout before a file of the same name": (
        [(".wh.c", "file"), ("c", "file", b"new c")],
        {"c": b"new c"},
    ),
    "whiteout after a file of the same name": (
        [("c", "file", b"new c"), (".wh.c", "file")],
        {"c": b"new c"},
    ),
    "whiteout of a directory the layer writes into": (
        [("a/new", "file", b"n"), (".wh.a", "file")],
        {"a": {"new": b"n"}},
    ),
    "opaque hides lower content of subdirectories too": (
        [("deep/er/g", "file", b"g"), ("deep/.wh..wh..opq", "file")],
        {"deep": {"er": {"g": b"g"}}},
    ),
}


def _contents(root: Path) -> dict:
    out = {}
    for entry in sorted(root.iterdir()):
        out[entry.name] = _contents(entry) if entry.is_dir() else entry.read_bytes()
    return out


@pytest.mark.parametrize("case", ORDER_CASES, ids=list(ORDER_CASES))
def test_markers_work_in_any_order_and_hide_only_lower_content(tmp_path, case):
    entries, changes = ORDER_CASES[case]
    lower = tmp_path / "lower"
    lower.mkdir()
    build(lower, LOWER)
    expected = _contents(lower)
    expected.update(changes)
    blob = make_tar(entries, "zstd")

    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    build(rootfs, LOWER)
    apply_layer(io.BytesIO(blob), rootfs, mode="flatten", form=ROOT_FORM)
    assert _contents(rootfs) == expected

    # The overlay form of the same layer, mounted over the lower tree, shows the same thing.
    layer = tmp_path / "layer"
    layer.mkdir()
    apply_layer(io.BytesIO(blob), layer, mode="overlay", form=ROOT_FORM)
    with overlay([layer, lower], tmp_path / "merged") as merged:
        assert _contents(merged) == expected


def test_overlay_mode_writes_overlayfs_markers(tmp_path):
    blob = make_tar([("a/.wh.x", "file"), ("b/", "dir"), ("b/.wh..wh..opq", "file"), (".wh..wh..plnk", "file")])
    layer = tmp_path / "layer"
    layer.mkdir()
    apply_layer(io.BytesIO(blob), layer, form=ROOT_FORM)
    st = os.lstat(layer / "a" / "x")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(layer / "b", XATTR_OPAQUE) == b"y"
    assert sorted(p.name for p in layer.iterdir()) == ["a", "b"]  # aufs metadata is not content


def test_real_overlayfs_upperdir_diffs_to_the_merged_view(tmp_path):
    lower, upper, work = tmp_path / "lower", tmp_path / "upper", tmp_path / "work"
    for p in (lower, upper, work):
        p.mkdir()
    build(lower, LOWER)
    with overlay([lower], tmp_path / "merged", upper, work) as merged:
        (merged / "a" / "x").unlink()
        subprocess.run(["rm", "-rf", str(merged / "deep")], check=True)
        subprocess.run(["rm", "-rf", str(merged / "b")], check=True)
        (merged / "b").mkdir()
        (merged / "b" / "fresh").write_bytes(b"fresh")
        (merged / "c").write_bytes(b"changed")
        (merged / "a" / "y").chmod(0o600)
        (merged / "new").write_bytes(b"new")
        os.link(merged / "new", merged / "a" / "new-link")
        os.mkfifo(merged / "fifo")
        os.setxattr(merged / "c", "user.note", b"kept")
        expected = listing(merged)

    blob = io.BytesIO()
    write_layer(upper, blob)
    names = tar_names(blob.getvalue())
    assert {"a/.wh.x", ".wh.deep", "b/.wh..wh..opq", "b/fresh", "c", "new", "fifo"} <= set(names)
    # A whiteout sorts by the name it deletes, as BuildKit's walk of the upperdir emits it.
    assert [n for n in names if n.startswith("a/")] == ["a/new-link", "a/.wh.x", "a/y"]
    with tarfile.open(fileobj=io.BytesIO(blob.getvalue())) as tar:
        assert tar.getmember("new").islnk() or tar.getmember("a/new-link").islnk()
        assert not any(k.startswith("SCHILY.xattr.trusted.overlay.") for m in tar for k in m.pax_headers)

    # Flattening the two layers gives what the mount showed...
    base = io.BytesIO()
    write_layer(lower, base)
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    for layer in (base, blob):
        layer.seek(0)
        apply_layer(layer, rootfs, mode="flatten", form=ROOT_FORM)
    assert listing(rootfs) == expected

    # ...and so does mounting the overlay forms they unpack to.
    unpacked = []
    for i, layer in enumerate((base, blob)):
        layer.seek(0)
        unpacked.append(tmp_path / f"unpacked{i}")
        unpacked[-1].mkdir()
        apply_layer(layer, unpacked[-1], form=ROOT_FORM)
    with overlay(unpacked[::-1], tmp_path / "remerged") as remerged:
        assert listing(remerged) == expected
