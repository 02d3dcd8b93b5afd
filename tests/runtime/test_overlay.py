"""The overlay mount on its own, as COPY and ADD use it."""

from __future__ import annotations

import os
import stat

import pytest

from builder.runtime import MountError, overlay
from builder.runtime.mounts import mountpoints_under


def test_writes_go_to_the_upperdir_and_the_mount_is_undone(tmp_path, state_dir, base):
    upper = tmp_path / "upper"
    with overlay(base, upper, state_dir=state_dir) as rootfs:
        assert (rootfs / "etc" / "passwd").exists() and (rootfs / "bin" / "sh").is_symlink()
        (rootfs / "etc" / "added").write_text("new")
        os.unlink(rootfs / "etc" / "group")
    assert mountpoints_under(state_dir) == []
    assert (upper / "etc" / "added").read_text() == "new"
    st = (upper / "etc" / "group").lstat()
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert sorted(os.listdir(tmp_path)) == ["state", "upper"]


def test_unmounted_even_when_the_body_raises(tmp_path, state_dir, base):
    with pytest.raises(RuntimeError), overlay(base, tmp_path / "upper", state_dir=state_dir):
        raise RuntimeError("boom")
    assert mountpoints_under(state_dir) == []


def test_no_lowerdirs_is_an_empty_root(tmp_path, state_dir):
    with overlay([], tmp_path / "upper", state_dir=state_dir) as rootfs:
        assert os.listdir(rootfs) == []
        (rootfs / "f").write_text("x")
    assert os.listdir(tmp_path / "upper") == ["f"]


def test_missing_layer_is_a_mount_error(tmp_path, state_dir):
    with (
        pytest.raises(MountError, match="does not exist"),
        overlay([tmp_path / "nope"], tmp_path / "upper", state_dir=state_dir),
    ):
        pass
