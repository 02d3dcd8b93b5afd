"""Crafted tars that try to write outside the target: each is refused and nothing changes around it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from builder.layer import ROOT_FORM, LayerError, apply_layer
from tests.layer.layertree import listing, make_tar

# {outer} is replaced by the absolute path of the sentinel directory that surrounds the target.
ESCAPES = {
    "dotdot": [("../pwn", "file", b"x")],
    "dotdot inside a name": [("a/../../pwn", "file", b"x")],
    "dotdot directory": [("../pwndir/", "dir")],
    "absolute name": [("{outer}/pwn", "file", b"x")],
    "symlink to / then write through it": [("root", "symlink", "/"), ("root{outer}/pwn", "file", b"x")],
    "symlink to .. then write through it": [("up", "symlink", ".."), ("up/pwn", "file", b"x")],
    "symlink chain of .. links": [
        ("l1", "symlink", "."),
        ("l2", "symlink", "l1/.."),
        ("l3", "symlink", "l2/../.."),
        ("l3/pwn", "file", b"x"),
    ],
    "symlink to .. then make a directory through it": [("up", "symlink", ".."), ("up/pwndir/", "dir")],
    "symlink to .. then a symlink through it": [("up", "symlink", ".."), ("up/pwn", "symlink", "/etc")],
    "hard link to /etc/passwd": [("passwd", "link", "/etc/passwd")],
    "hard link to outside by ..": [("s", "link", "../sentinel")],
    "hard link through a symlink": [("up", "symlink", ".."), ("s", "link", "up/sentinel")],
    "file replaced by a symlink to / then written": [
        ("x", "file", b"harmless"),
        ("x", "symlink", "/"),
        ("x{outer}/pwn", "file", b"x"),
    ],
    "directory replaced by a symlink to .. then written": [
        ("d/", "dir"),
        ("d/f", "file", b"ok"),
        ("d", "symlink", ".."),
        ("d/pwn", "file", b"x"),
    ],
    "whiteout through a symlink": [("up", "symlink", ".."), ("up/.wh.sentinel", "file")],
    "opaque marker through a symlink": [("up", "symlink", ".."), ("up/sub/.wh..wh..opq", "file")],
    "whiteout named ..": [("a/.wh...", "file")],
}


@pytest.fixture
def sandbox(tmp_path):
    """An outer directory with a sentinel file and the (empty) target inside it."""
    outer = tmp_path / "outer"
    outer.mkdir()
    (outer / "sentinel").write_bytes(b"precious")
    (outer / "target").mkdir()
    return outer


def _around(outer: Path) -> dict:
    return {k: v for k, v in listing(outer).items() if not k.startswith(b"target")}


@pytest.mark.parametrize("mode", ["overlay", "flatten"])
@pytest.mark.parametrize("compression", ["gzip", "zstd"])
@pytest.mark.parametrize("case", ESCAPES, ids=list(ESCAPES))
def test_escape_is_refused_and_nothing_lands_outside(sandbox, case, compression, mode):
    entries = [(name.replace("{outer}", str(sandbox)), *rest) for name, *rest in ESCAPES[case]]
    before = _around(sandbox)
    with pytest.raises(LayerError):
        apply_layer(io.BytesIO(make_tar(entries, compression)), sandbox / "target", mode=mode, form=ROOT_FORM)
    assert _around(sandbox) == before
    assert not os.path.lexists("/pwn") and not os.path.lexists("/etc/pwn")


def test_lower_symlink_to_root_is_not_written_through(sandbox):
    """A rootfs may hold absolute symlinks (lib -> /usr/lib); a layer entry under one is refused."""
    target = sandbox / "target"
    os.symlink(str(sandbox), target / "lib")
    before = _around(sandbox)
    with pytest.raises(LayerError, match="symlink"):
        apply_layer(io.BytesIO(make_tar([("lib/pwn", "file", b"x")])), target, mode="flatten", form=ROOT_FORM)
    assert _around(sandbox) == before


def test_entry_over_a_symlink_replaces_the_link_not_its_target(sandbox):
    target = sandbox / "target"
    os.symlink(sandbox / "sentinel", target / "s")
    apply_layer(io.BytesIO(make_tar([("s", "file", b"new")])), target, mode="flatten", form=ROOT_FORM)
    assert (sandbox / "sentinel").read_bytes() == b"precious"
    assert not (target / "s").is_symlink() and (target / "s").read_bytes() == b"new"


def test_entry_over_a_hard_link_does_not_change_the_linked_file(sandbox):
    target = sandbox / "target"
    (target / "etc").mkdir()
    (target / "etc" / "passwd").write_bytes(b"root:x:0:0")
    blob = make_tar([("x", "link", "etc/passwd"), ("x", "file", b"pwned")])
    apply_layer(io.BytesIO(blob), target, mode="flatten", form=ROOT_FORM)
    assert (target / "etc" / "passwd").read_bytes() == b"root:x:0:0"
    assert (target / "x").read_bytes() == b"pwned"


def test_symlinks_themselves_may_point_anywhere(sandbox):
    target = sandbox / "target"
    blob = make_tar([("abs", "symlink", "/etc/passwd"), ("rel", "symlink", "../../..")])
    apply_layer(io.BytesIO(blob), target, form=ROOT_FORM)
    assert os.readlink(target / "abs") == "/etc/passwd" and os.readlink(target / "rel") == "../../.."
