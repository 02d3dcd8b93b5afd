"""The direct COPY (`builder.fsops.copystream`) against the copy through the overlay mount.

Each case copies one source directory twice onto the same real lower layers: once as every COPY used to
(`copy_source` through an overlayfs mount, then `write_layer` of the upperdir), once directly (`prepare`
through the mount, then `copy_tree` into the upperdir with the layer streamed). The two upperdirs must be
the same tree (the destination directory's own mtime aside), and the streamed layer must be byte for byte
what `write_layer` makes of its upperdir.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from builder.fsops import copy as copy_ins
from builder.fsops import copystream
from builder.instructions.chmod import parse_chmod
from builder.layer import write_layer
from builder.layer.diff import LayerStream
from builder.runtime import overlay
from tests.layer.layertree import build, listing

MTIME = 1_600_000_000

SOURCE = {
    "a.txt": {"kind": "file", "content": b"alpha\n", "mode": 0o644},
    "B": {"kind": "file", "content": b"upper case sorts first", "mode": 0o600, "uid": 7, "gid": 8},
    "big.bin": {"kind": "file", "size": 1_500_000, "mode": 0o755},
    "empty": {"kind": "file", "content": b""},
    "run.sh": {"kind": "file", "content": b"#!/bin/sh\n", "mode": 0o4755},
    "sub": {
        "kind": "dir",
        "mode": 0o750,
        "children": {
            "deep": {"kind": "dir", "children": {"x": {"kind": "file", "content": b"x"}}},
            "hollow": {"kind": "dir", "mode": 0o555, "children": {}},
            "rel-link": {"kind": "symlink", "target": "../a.txt"},
            "abs-link": {"kind": "symlink", "target": "/etc/passwd"},
            "dangling": {"kind": "symlink", "target": "nowhere"},
            "pipe": {"kind": "fifo"},
            "n" * 120: {"kind": "file", "content": b"a name longer than a ustar header holds"},
        },
    },
    "skip.log": {"kind": "file", "content": b"left out by --exclude"},
    "hidden": {"kind": "file", "content": b"left out by the ignore file"},
}


def _hard_links(src: Path) -> None:
    os.link(src / "a.txt", src / "sub" / "a-again")
    os.link(src / "a.txt", src / "z-third")


def _non_utf8(src: Path) -> None:
    with open(os.path.join(os.fsencode(src), b"caf\xe9"), "wb") as f:
        f.write(b"latin-1 name")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    build(src, SOURCE)
    _hard_links(src)
    _non_utf8(src)
    return src


def _lower(tmp_path: Path, name: str, spec: dict) -> Path:
    layer = tmp_path / name
    layer.mkdir()
    build(layer, spec)
    return layer


def _through_mount(tmp_path: Path, lowers, tree, dest, placement, skip, name="mount"):
    upper = tmp_path / f"upper-{name}"
    with overlay(lowers, upper, state_dir=tmp_path / "state") as root:
        copy_ins.copy_source(root, tree, "", dest, False, placement, skip)
    out = io.BytesIO()
    write_layer(upper, out, compression="none")
    return upper, out.getvalue()


def _direct(tmp_path: Path, lowers, tree, dest, placement, skip, compression="none"):
    upper = tmp_path / "upper-direct"
    with overlay(lowers, upper, state_dir=tmp_path / "state") as root:
        rel = copystream.prepare(root, lowers, dest, placement, tree, "", skip)
    assert rel is not None, "the direct copy was refused"
    out = io.BytesIO()
    with LayerStream(out, compression=compression) as stream:
        exact = copystream.copy_tree(stream, upper, rel, tree, "", placement, skip)
        stream.finish()
    return upper, rel, exact, out.getvalue()


def _same_upper(mount: Path, direct: Path, rel: str) -> None:
    a, b = listing(mount), listing(direct)
    # The destination's mtime is when it was made, not when its last entry was; it and the directories
    # above it were made (or copied up) "now", once per copy: the two copies may fall in different seconds.
    parts = rel.split("/")
    for depth in range(1, len(parts) + 1):
        key = os.fsencode("/".join(parts[:depth]))
        a[key] = a[key][:-1] + (None,)
        b[key] = b[key][:-1] + (None,)
    assert a == b


def _archived(upper: Path, compression: str = "none") -> bytes:
    out = io.BytesIO()
    write_layer(upper, out, compression=compression)
    return out.getvalue()


DESTINATIONS = {
    # dest, lower layers (top first)
    "new directory": ("/app", [{"etc": {"kind": "dir", "children": {}}}]),
    "below an existing one": ("/srv/www/app", [{"srv": {"kind": "dir", "mode": 0o711, "children": {}}}]),
    "existing empty (WORKDIR)": (
        "/work",
        [{"work": {"kind": "dir", "mode": 0o770, "uid": 5, "children": {}}}, {"work": {"kind": "dir"}}],
    ),
    "through a symlinked directory": (
        "/link/app",
        [{"link": {"kind": "symlink", "target": "/srv"}, "srv": {"kind": "dir", "children": {}}}],
    ),
    "no lower layers": ("/app", []),
}


@pytest.mark.parametrize("case", DESTINATIONS)
@pytest.mark.parametrize("owner", ["default", "chown", "chmod"])
def test_direct_copy_equals_the_copy_through_the_mount(tmp_path, source, case, owner):
    dest, specs = DESTINATIONS[case]
    lowers = [_lower(tmp_path, f"lower{i}", spec) for i, spec in enumerate(specs)]
    tree = copy_ins.SourceTree(source, included=lambda rel: rel != "hidden")
    skip = lambda rel: rel.endswith(".log")  # noqa: E731

    def placement():
        if owner == "chown":
            return copy_ins.Placement(uid=1000, gid=1001)
        if owner == "chmod":
            return copy_ins.Placement(chmod=parse_chmod("640"))
        return copy_ins.Placement()

    mount_upper, mount_tar = _through_mount(tmp_path, lowers, tree, dest, placement(), skip)
    direct_upper, rel, exact, streamed = _direct(tmp_path, lowers, tree, dest, placement(), skip)
    assert exact
    _same_upper(mount_upper, direct_upper, rel)
    assert streamed == _archived(direct_upper)
    with tarfile.open(fileobj=io.BytesIO(streamed)) as tar:
        names = tar.getnames()
    assert any(n.endswith("sub/a-again") for n in names) and not any(
        "skip.log" in n or "hidden" in n for n in names
    )
    # the mount's layer differs only in the destination directory's mtime
    assert len(mount_tar) == len(streamed)


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_streamed_blob_is_the_archived_blob(tmp_path, source, compression):
    tree = copy_ins.SourceTree(source)
    upper, _rel, exact, streamed = _direct(tmp_path, [], tree, "/app", copy_ins.Placement(), None, compression)
    assert exact and streamed == _archived(upper, compression)


REFUSED = {
    "destination holds files": ("/app", [{"app": {"kind": "dir", "children": {"f": {"kind": "file"}}}}]),
    "a lower layer has a whiteout below it": (
        "/app",
        [{"app": {"kind": "dir", "children": {"gone": {"kind": "chr", "rdev": (0, 0)}}}}],
    ),
    "a deeper layer has files there": (
        "/app",
        [
            {"app": {"kind": "dir", "children": {}}},
            {"app": {"kind": "dir", "children": {"f": {"kind": "file"}}}},
        ],
    ),
    "destination is a file": ("/app", [{"app": {"kind": "file"}}]),
    "destination is the root": ("/", [{"etc": {"kind": "dir", "children": {}}}]),
}


@pytest.mark.parametrize("case", REFUSED)
def test_direct_copy_is_refused_where_lower_content_would_show(tmp_path, source, case):
    dest, specs = REFUSED[case]
    tree = copy_ins.SourceTree(source)
    lowers = [_lower(tmp_path, f"lower{i}", spec) for i, spec in enumerate(specs)]
    with overlay(lowers, tmp_path / "upper", state_dir=tmp_path / "state") as root:
        assert copystream.prepare(root, lowers, dest, copy_ins.Placement(), tree, "") is None
        assert os.listdir(tmp_path / "upper") == []  # nothing was made for it


def test_unexpected_upperdir_content_stops_the_direct_copy_before_it_writes(tmp_path, source):
    upper = tmp_path / "upper"
    with overlay([], upper, state_dir=tmp_path / "state") as root:
        rel = copystream.prepare(root, [], "/app", copy_ins.Placement(), copy_ins.SourceTree(source), "")
    (upper / "stray").write_text("made by someone else")
    out = io.BytesIO()
    with pytest.raises(copystream.Unusable), LayerStream(out, compression="none") as stream:
        copystream.copy_tree(stream, upper, rel, copy_ins.SourceTree(source), "", copy_ins.Placement())
    assert os.listdir(upper / "app") == [] and out.getvalue() == b""


def test_a_file_growing_while_copied_makes_the_stream_unusable_not_the_copy(tmp_path, source, monkeypatch):
    """Fault injection: another writer appends to a large file once its header is written. The copy takes
    what is there (as the copy through the mount would); the stream says it cannot be trusted."""
    grown = source / "big.bin"
    write_header = LayerStream.write_header

    def appending(self, h):
        write_header(self, h)
        if h.name.endswith(b"big.bin"):
            with open(grown, "ab") as f:
                f.write(b"appended")

    monkeypatch.setattr(LayerStream, "write_header", appending)
    upper = tmp_path / "upper"
    with overlay([], upper, state_dir=tmp_path / "state") as root:
        rel = copystream.prepare(root, [], "/app", copy_ins.Placement(), copy_ins.SourceTree(source), "")
    with LayerStream(io.BytesIO(), compression="none") as stream:
        exact = copystream.copy_tree(stream, upper, rel, copy_ins.SourceTree(source), "", copy_ins.Placement())
    assert not exact
    assert (upper / "app" / "big.bin").read_bytes() == grown.read_bytes()
    assert stat.S_IMODE(os.stat(upper / "app" / "big.bin").st_mode) == 0o755


def _describe(tree: copy_ins.SourceTree) -> dict[str, str]:
    from builder.sources import digest_sources

    return digest_sources([("", tree.root)])


def test_unchanged_files_of_an_earlier_copy_are_linked_changed_ones_written(tmp_path, source):
    tree = copy_ins.SourceTree(source)
    first = _direct(tmp_path, [], tree, "/app", copy_ins.Placement(), None)[0] / "app"
    before = _describe(tree)
    (source / "a.txt").chmod(0o600)  # metadata changed: not linked
    (source / "sub" / "deep" / "x").write_bytes(b"y")  # content changed, same size: not linked
    os.utime(source / "empty", ns=(1, 1))  # mtime changed: not linked
    kept = os.stat(source / "run.sh")
    (source / "run.sh").write_bytes(b"#!/bin/ZZ\n")  # same size, mtime put back: the digest tells
    os.utime(source / "run.sh", ns=(kept.st_atime_ns, kept.st_mtime_ns))
    earlier = copystream.Earlier(first, before, _describe(tree))
    upper = tmp_path / "second"
    with overlay([], upper, state_dir=tmp_path / "state") as root:
        rel = copystream.prepare(root, [], "/app", copy_ins.Placement(), tree, "")
    out = io.BytesIO()
    with LayerStream(out, compression="none") as stream:
        assert copystream.copy_tree(stream, upper, rel, tree, "", copy_ins.Placement(), None, earlier)
        stream.finish()
    assert out.getvalue() == _archived(upper)
    second = upper / "app"

    def shared(name: str) -> bool:
        return os.stat(first / name).st_ino == os.stat(second / name).st_ino

    assert shared("B") and shared("big.bin") and shared("sub/" + "n" * 120)
    assert not shared("a.txt") and not shared("sub/deep/x") and not shared("empty") and not shared("run.sh")
    assert (second / "run.sh").read_bytes() == b"#!/bin/ZZ\n"
    assert not shared("sub/a-again")  # source hard links are copied as such, never linked to the old copy
    assert (second / "sub" / "deep" / "x").read_bytes() == b"y" and (
        first / "sub" / "deep" / "x"
    ).read_bytes() == b"x"
    assert stat.S_IMODE(os.stat(first / "a.txt").st_mode) == 0o644  # the earlier layer is left as it was
    # and the result is what a copy without the earlier one makes
    fresh_upper = _direct(tmp_path / "fresh", [], tree, "/app", copy_ins.Placement(), None)[0]
    _same_upper(fresh_upper, upper, rel)


FILES = {"a": {"kind": "file", "content": b"a"}, "d": {"kind": "dir", "children": {"x": {"kind": "file"}}}}
NOTHING_MADE = {
    # source, the ignore file's rule, --exclude
    "an empty directory": ({}, None, None),
    "wholly ignored": (FILES, lambda rel: False, None),
    "wholly excluded": (FILES, None, lambda rel: True),
    "only what is never copied": ({"sock": {"kind": "socket"}}, None, None),
}


@pytest.mark.parametrize("case", NOTHING_MADE)
def test_copying_nothing_onto_an_existing_directory_gives_the_mounts_empty_layer(tmp_path, case):
    """Through the mount nothing is made, so nothing is copied up: the layer is empty. The direct copy must
    not copy the destination up (and give a layer holding it and its parents) — it leaves such a copy to
    the mount."""
    spec, included, skip = NOTHING_MADE[case]
    src = tmp_path / "src"
    src.mkdir()
    build(src, spec)
    tree = copy_ins.SourceTree(src, included=included)
    lowers = [_lower(tmp_path, "lower", {"srv": {"kind": "dir", "children": {"www": {"kind": "dir"}}}})]
    mount_upper, mount_tar = _through_mount(tmp_path, lowers, tree, "/srv/www", copy_ins.Placement(), skip)
    assert os.listdir(mount_upper) == [] and mount_tar == bytes(1024)  # the end of archive alone
    upper = tmp_path / "upper-direct"
    with overlay(lowers, upper, state_dir=tmp_path / "state") as root:
        assert copystream.prepare(root, lowers, "/srv/www", copy_ins.Placement(), tree, "", skip) is None
    assert os.listdir(upper) == []
    # onto a new directory, copying nothing still makes the directory, on both paths
    new_upper, _tar = _through_mount(tmp_path, lowers, tree, "/srv/new", copy_ins.Placement(), skip, "new")
    direct_upper, rel, exact, streamed = _direct(
        tmp_path / "new", lowers, tree, "/srv/new", copy_ins.Placement(), skip
    )
    assert exact and rel == "srv/new" and streamed == _archived(direct_upper)
    _same_upper(new_upper, direct_upper, rel)


def test_a_directory_whose_contents_are_all_excluded_is_still_made(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    build(src, FILES)
    tree = copy_ins.SourceTree(src)
    skip = lambda rel: rel != "d"  # noqa: E731
    lowers = [_lower(tmp_path, "lower", {"srv": {"kind": "dir", "children": {"www": {"kind": "dir"}}}})]
    mount_upper, _tar = _through_mount(tmp_path, lowers, tree, "/srv/www", copy_ins.Placement(), skip)
    direct_upper, rel, exact, streamed = _direct(tmp_path, lowers, tree, "/srv/www", copy_ins.Placement(), skip)
    assert exact and streamed == _archived(direct_upper)
    _same_upper(mount_upper, direct_upper, rel)
    assert sorted(listing(direct_upper)) == [b"srv", b"srv/www", b"srv/www/d"]


class _Digest:
    """A layer output that keeps only the hash of what it is given (the layer itself is not kept in memory)."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    def write(self, data) -> int:
        self.hash.update(data)
        return len(data)


def test_a_small_file_growing_after_it_was_listed_is_copied_whole_a_piece_at_a_time(tmp_path, monkeypatch):
    """Fault injection: a small context file gains 48 MiB between its listing and its copy. As through the
    mount, the copy holds all of it; the copy never holds it in memory whole, and the stream is still
    exactly the layer of the upperdir."""
    src = tmp_path / "src"
    src.mkdir()
    build(src, {"grows.log": {"kind": "file", "content": b"first line\n"}, "z": {"kind": "file"}})
    grows = src / "grows.log"
    ino = os.stat(grows).st_ino
    piece = b"more\n" * (1 << 18)  # ~1.3 MB, appended 36 times
    real_read = os.read
    appended = []

    def reading(fd: int, n: int) -> bytes:
        if not appended and os.fstat(fd).st_ino == ino:
            with open(grows, "ab") as f:
                for _ in range(36):
                    f.write(piece)
            appended.append(True)
        return real_read(fd, n)

    upper = tmp_path / "upper"
    with overlay([], upper, state_dir=tmp_path / "state") as root:
        tree = copy_ins.SourceTree(src)
        rel = copystream.prepare(root, [], "/app", copy_ins.Placement(), tree, "")
    out = _Digest()
    monkeypatch.setattr(os, "read", reading)
    tracemalloc.start()
    try:
        with LayerStream(out, compression="none") as stream:
            exact = copystream.copy_tree(stream, upper, rel, tree, "", copy_ins.Placement())
            stream.finish()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        monkeypatch.undo()
    assert appended and os.stat(grows).st_size == 11 + 36 * len(piece)
    assert (upper / "app" / "grows.log").read_bytes() == grows.read_bytes()
    assert peak < 16 << 20, f"{peak} bytes held while copying"
    assert exact and out.hash.digest() == hashlib.sha256(_archived(upper)).digest()
