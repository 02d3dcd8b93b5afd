"""Container paths resolved on the host never leave the rootfs."""

from __future__ import annotations

import os

import pytest

from builder.fsops.rootpath import resolve_in_root


def test_plain_and_missing_components(tmp_path):
    (tmp_path / "a").mkdir()
    assert resolve_in_root(tmp_path, "/a/b/c") == tmp_path / "a" / "b" / "c"
    assert resolve_in_root(tmp_path, "/") == tmp_path


def test_dotdot_and_absolute_links_are_clamped_to_the_root(tmp_path):
    (tmp_path / "etc").mkdir()
    os.symlink("/", tmp_path / "etc" / "up")
    os.symlink("../../../../../tmp", tmp_path / "escape")
    assert resolve_in_root(tmp_path, "/../../etc/up/etc") == tmp_path / "etc"
    assert resolve_in_root(tmp_path, "/escape/x") == tmp_path / "tmp" / "x"


def test_relative_link_resolves_against_its_directory(tmp_path):
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    os.symlink("usr/lib", tmp_path / "lib")
    assert resolve_in_root(tmp_path, "/lib/x") == tmp_path / "usr" / "lib" / "x"


def test_symlink_loop_is_an_error(tmp_path):
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(OSError):
        resolve_in_root(tmp_path, "/a")
