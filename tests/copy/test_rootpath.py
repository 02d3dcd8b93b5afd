"""`builder.fsops.rootpath`: every image path resolves inside the root, dangling links included."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from builder.errors import BuildError
from builder.fsops import rootpath
from builder.fsops.copy import Ownership, make_dirs


def test_a_dangling_absolute_link_is_re_rooted(tmp_path: Path):
    os.symlink("/tmp/not-in-the-image/x", tmp_path / "a")
    assert rootpath.resolve_in_root(tmp_path, "/a/f") == tmp_path / "tmp" / "not-in-the-image" / "x" / "f"


def test_missing_components_are_kept_and_a_later_dotdot_removes_them(tmp_path: Path):
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    os.symlink("usr/lib", tmp_path / "lib")
    assert rootpath.resolve_in_root(tmp_path, "/nope/../lib/x") == tmp_path / "usr" / "lib" / "x"
    assert rootpath.resolve_in_root(tmp_path, "../../nope/y") == tmp_path / "nope" / "y"


def test_strict_stops_at_the_first_missing_or_hidden_entry(tmp_path: Path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("")
    os.symlink("d/gone", tmp_path / "l")
    assert rootpath.follow(tmp_path, "l/x", strict=True) == (["d"], ["gone", "x"])
    assert rootpath.follow(tmp_path, "d/f", visible=lambda rel: rel != "d/f", strict=True) == (["d"], ["f"])
    assert rootpath.follow(tmp_path, "d/f", strict=True) == (["d", "f"], [])


def test_a_loop_is_eloop(tmp_path: Path):
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(OSError) as caught:
        rootpath.resolve_in_root(tmp_path, "/a/x")
    assert caught.value.errno == errno.ELOOP


@pytest.mark.root  # make_dirs gives what it makes root's owner
def test_make_dirs_creates_the_link_target_inside_the_root(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(str(tmp_path / "host"), root / "w")  # the host path exists, the image path does not
    (tmp_path / "host").mkdir()
    made = make_dirs(root, "/w/sub", Ownership())
    assert made == root / str(tmp_path / "host").lstrip("/") / "sub"
    assert made.is_dir() and list((tmp_path / "host").iterdir()) == []


def test_make_dirs_refuses_a_file_on_the_way(tmp_path: Path):
    (tmp_path / "f").write_text("")
    with pytest.raises(BuildError, match="/f is not a directory"):
        make_dirs(tmp_path, "/f/x", Ownership())


def test_create_file_does_not_follow_a_link(tmp_path: Path):
    os.symlink(str(tmp_path / "elsewhere"), tmp_path / "l")
    with pytest.raises(OSError):
        os.close(rootpath.create_file(tmp_path / "l"))
    assert not (tmp_path / "elsewhere").exists()


def test_ensure_inside_refuses_a_parent_leading_out(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(str(tmp_path), root / "out")
    rootpath.ensure_inside(root, root / "in" / "x")
    with pytest.raises(PermissionError):
        rootpath.ensure_inside(root, root / "out" / "x")


def test_the_root_itself_is_inside(tmp_path):
    from builder.fsops.rootpath import ensure_inside

    ensure_inside(tmp_path, tmp_path)  # COPY f / writes into the root: no error
