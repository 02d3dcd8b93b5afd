"""Extra mounts (the base for RUN --mount), their stubs, resolv.conf per network mode, fd isolation."""

from __future__ import annotations

import os

from builder.runtime import Mount
from builder.runtime.bundle import resolv_conf


def test_bind_mount_is_visible_and_its_stubs_are_removed(tmp_path, step, base):
    source = tmp_path / "context"
    source.mkdir()
    (source / "input").write_text("from the host\n")
    mounts = [Mount("/mnt/ctx", "bind", str(source), ("rbind", "ro"))]
    status, output, upper = step(
        base, "cat /mnt/ctx/input; touch /mnt/ctx/x 2>/dev/null || echo ro", extra_mounts=mounts
    )
    assert (status, output) == (0, "from the host\nro\n")
    # /mnt and /mnt/ctx were created only to mount on: gone, like /etc/hosts' stub and the copied-up /etc.
    assert os.listdir(upper) == []
    assert sorted(os.listdir(source)) == ["input"]


def test_tmpfs_mount_content_does_not_reach_the_layer(step, base):
    mounts = [Mount("/cache", "tmpfs", "tmpfs", ("nosuid", "nodev"))]
    status, _, upper = step(base, "echo data > /cache/file", extra_mounts=mounts)
    assert status == 0
    assert os.listdir(upper) == []


def test_a_mountpoint_the_step_filled_is_kept(tmp_path, step, base):
    # The step writes next to the mount: /mnt is no longer an empty stub, so it stays (as in BuildKit).
    source = tmp_path / "src"
    source.mkdir()
    mounts = [Mount("/mnt/src", "bind", str(source), ("rbind",))]
    status, _, upper = step(base, "echo kept > /mnt/own", extra_mounts=mounts)
    assert status == 0
    assert sorted(os.listdir(upper / "mnt")) == ["own"]


def test_no_descriptor_of_ours_reaches_the_container(tmp_path, step, base):
    leaky = os.open(tmp_path / "secret", os.O_CREAT | os.O_RDWR)
    os.set_inheritable(leaky, True)
    try:
        # The shell stays PID 1 (no exec of the last command): its descriptors are what runc handed over.
        _, output, _ = step(base, "ls /proc/1/fd; true")
    finally:
        os.close(leaky)
    assert output.split() == ["0", "1", "2"]


def test_resolv_conf_without_own_network_drops_loopback_nameservers():
    host = "search example.org\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions edns0\n"
    assert resolv_conf(host, "host") == host
    assert resolv_conf(host, "none") == "search example.org\nnameserver 10.0.0.2\noptions edns0\n"
    only_local = "nameserver 127.0.0.53\n"
    assert resolv_conf(only_local, "none").split("\n")[:2] == ["nameserver 8.8.8.8", "nameserver 8.8.4.4"]
