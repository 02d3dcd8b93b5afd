"""A step's upperdir holds what its process changed and nothing else: no mountpoint, and no directory that
overlayfs copied up only to hold one (the rule is in builder/runtime/stubs.py)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from builder.runtime import Mount, overlay
from builder.runtime.stubs import Stubs
from tests.runtime.runtime_helpers import tree

# 2001-02-03 04:05:06 UTC, set by busybox `touch -d` inside the container.
STAMP = 981173106


@pytest.fixture
def lower_srv(tmp_path: Path) -> Path:
    """A layer with /srv/a/file, its directories dated in the past as in any real base image."""
    layer = tmp_path / "srv-layer"
    (layer / "srv" / "a").mkdir(parents=True)
    (layer / "srv" / "a" / "file").write_text("lower\n")
    for path in (layer / "srv" / "a", layer / "srv"):
        os.utime(path, (1_500_000_000, 1_500_000_000))
    return layer


def test_base_without_system_directories_gains_none(step, busybox_layer):
    # No /dev, /proc, /sys or /etc in the image: runc needs all of them as mountpoints.
    status, output, upper = step([busybox_layer], "echo hi > /f; ls -d /dev/pts /proc/self /sys/fs /etc/hosts")
    assert status == 0, output
    assert tree(upper) == {"f": "file:hi\n"}


def test_etc_is_not_left_behind_by_the_hosts_and_resolv_conf_stubs(step, base):
    status, output, upper = step(base, "echo hi > /f; ls -la /etc >/dev/null; cat /etc/hosts >/dev/null")
    assert status == 0, output
    assert tree(upper) == {"f": "file:hi\n"}


def test_a_file_written_into_etc_keeps_etc_without_the_stubs(step, base):
    status, _, upper = step(base, "echo bar > /etc/foo")
    assert status == 0
    assert tree(upper) == {"etc": "dir", "etc/foo": "file:bar\n"}


@pytest.mark.parametrize(
    ("script", "check"),
    [
        ("chmod 700 /etc", lambda st: stat.S_IMODE(st.st_mode) == 0o700),
        ("chown 1000:50 /etc", lambda st: (st.st_uid, st.st_gid) == (1000, 50)),
        ("touch -d '2001-02-03 04:05:06' /etc", lambda st: st.st_mtime == STAMP),
    ],
    ids=["chmod", "chown", "touch"],
)
def test_a_change_to_etc_itself_is_kept(step, base, script, check):
    status, output, upper = step(base, script, env=["TZ=UTC"])
    assert status == 0, output
    assert tree(upper) == {"etc": "dir"}
    assert check((upper / "etc").lstat())


def test_emptying_etc_keeps_its_whiteouts(step, base):
    # hosts and resolv.conf are busy mountpoints, so rm fails on them; the rest goes.
    status, _, upper = step(base, "rm -rf /etc/* 2>/dev/null; ls /etc")
    assert status == 0
    assert tree(upper) == {"etc": "dir", "etc/group": "whiteout", "etc/passwd": "whiteout"}


def test_working_directory_created_in_etc_is_kept(step, base):
    # BuildKit creates a missing working directory, and so the /etc that holds it is a real change.
    status, _, upper = step(base, "true", cwd="/etc/app")
    assert status == 0
    assert tree(upper) == {"etc": "dir", "etc/app": "dir"}


def test_file_bind_mount_into_an_existing_directory_leaves_nothing(tmp_path, step, base):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    mounts = [Mount("/etc/secret.conf", "bind", str(secret), ("rbind", "ro"))]
    status, output, upper = step(base, "cat /etc/secret.conf", extra_mounts=mounts)
    assert (status, output) == (0, "s3cr3t\n")
    assert tree(upper) == {}


def test_every_directory_copied_up_for_a_deep_mountpoint_goes(step, base, lower_srv):
    mounts = [Mount("/srv/a/cache/x", "tmpfs", "tmpfs", ("nosuid",))]
    status, output, upper = step(
        [lower_srv, *base], "echo data > /srv/a/cache/x/f; cat /srv/a/file", extra_mounts=mounts
    )
    assert (status, output) == (0, "lower\n")
    assert tree(upper) == {}


def test_a_changed_ancestor_keeps_its_times_when_the_copied_up_child_goes(step, base, lower_srv):
    mounts = [Mount("/srv/a/cache", "tmpfs", "tmpfs", ("nosuid",))]
    script = "echo own > /srv/own; touch -d '2001-02-03 04:05:06' /srv"
    status, _, upper = step([lower_srv, *base], script, env=["TZ=UTC"], extra_mounts=mounts)
    assert status == 0
    # srv/a was copied up only to hold the mountpoint: gone, and removing it did not re-date srv.
    assert tree(upper) == {"srv": "dir", "srv/own": "file:own\n"}
    assert (upper / "srv").lstat().st_mtime == STAMP


def test_a_directory_already_in_the_upperdir_is_never_pruned(step, busybox_layer):
    upper = step.upper_root / "prepared"
    (upper / "bin").mkdir(parents=True)
    os.link(busybox_layer / "bin" / "busybox", upper / "bin" / "sh")
    (upper / "etc").mkdir()
    os.utime(upper / "etc", (1_500_000_000, 1_500_000_000))
    from builder.runtime import ProcessSpec, run_step

    spec = ProcessSpec(args=["/bin/sh", "-c", "test -f /etc/hosts"])
    assert run_step([], upper, spec, state_dir=step.state_dir, output=lambda b: None) == 0
    assert set(tree(upper)) == {"bin", "bin/sh", "etc"}
    # The stubs made in it were removed and its times put back.
    assert (upper / "etc").lstat().st_mtime == 1_500_000_000


def _stub_run(state_dir: Path, lower: Path, upper: Path, change) -> None:
    """Stubs made and undone around ``change(rootfs)``, without a container."""
    with overlay([lower], upper, state_dir=state_dir) as rootfs:
        stubs = Stubs(rootfs, upper)
        stubs.create([{"destination": "/srv/cache", "type": "tmpfs", "source": "tmpfs", "options": []}])
        assert (rootfs / "srv" / "cache").is_dir()
        change(rootfs)
        stubs.remove()
    stubs.prune_upper()


def test_copied_up_directory_equal_to_the_lower_one_is_pruned(tmp_path, state_dir, lower_srv):
    upper = tmp_path / "upper"
    _stub_run(state_dir, lower_srv, upper, lambda rootfs: None)
    assert os.listdir(upper) == []


def test_an_opaque_directory_is_kept_even_if_it_looks_like_the_lower_one(tmp_path, state_dir, lower_srv):
    def replace_srv(rootfs: Path) -> None:
        # Deleted and made again with the same mode, owner and times: overlayfs marks it opaque, which
        # hides /srv/a; that is a change.
        shutil.rmtree(rootfs / "srv")
        (rootfs / "srv").mkdir(mode=0o755)
        os.chmod(rootfs / "srv", stat.S_IMODE((lower_srv / "srv").stat().st_mode))
        os.utime(rootfs / "srv", (1_500_000_000, 1_500_000_000))

    upper = tmp_path / "upper"
    _stub_run(state_dir, lower_srv, upper, replace_srv)
    assert os.listdir(upper) == ["srv"]
    assert os.getxattr(upper / "srv", "trusted.overlay.opaque") == b"y"
    assert os.listdir(upper / "srv") == []
