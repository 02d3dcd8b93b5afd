"""Steps run for real in runc on overlayfs: what they see, what they leave in the upperdir."""

from __future__ import annotations

import os
import resource
import stat
import time
from pathlib import Path

import pytest

from builder.runtime import ContainerStartError, ProcessSpec, run_step


def test_step_sees_its_mounts(step, base):
    status, output, _ = step(base, "ls /etc; ls -d /dev/pts /proc/self /sys/fs/cgroup")
    assert status == 0
    # /etc/hosts and /etc/resolv.conf are visible during the step (what it leaves: test_mountpoint_traces.py).
    assert output.split() == [
        "group",
        "hosts",
        "passwd",
        "resolv.conf",
        "/dev/pts",
        "/proc/self",
        "/sys/fs/cgroup",
    ]


def test_scratch_rootfs_with_a_static_binary(step, tmp_path, busybox_layer):
    # No lowerdirs at all: the upperdir is the whole rootfs.
    upper = tmp_path / "scratch-upper"
    (upper / "bin").mkdir(parents=True)
    os.link(busybox_layer / "bin" / "busybox", upper / "bin" / "busybox")
    chunks = []
    spec = ProcessSpec(args=["/bin/busybox", "echo", "from scratch"])
    status = run_step([], upper, spec, state_dir=step.state_dir, output=chunks.append)
    assert (status, b"".join(chunks)) == (0, b"from scratch\n")


@pytest.mark.parametrize("code", [0, 1, 7, 255])
def test_exit_status_propagates(step, base, code):
    status, _, _ = step(base, f"exit {code}")
    assert status == code


def test_killed_process_reports_128_plus_signal(step, base):
    # The shell is PID 1 and immune to its own SIGKILL; a child is not.
    status, _, _ = step(base, "sh -c 'kill -9 $$'; exit $?")
    assert status == 128 + 9


def test_output_is_streamed_as_it_arrives(state_dir, base, tmp_path):
    arrivals: list[tuple[float, bytes]] = []
    spec = ProcessSpec(args=["/bin/sh", "-c", "echo one; sleep 1; echo two >&2"])
    run_step(
        base,
        tmp_path / "up",
        spec,
        state_dir=state_dir,
        output=lambda b: arrivals.append((time.monotonic(), b)),
    )
    assert [chunk for _, chunk in arrivals] == [b"one\n", b"two\n"]
    assert arrivals[1][0] - arrivals[0][0] > 0.5


def test_stdout_and_stderr_keep_their_relative_order(step, base):
    _, output, _ = step(base, "for i in 1 2 3 4 5 6 7 8 9; do echo out$i; echo err$i >&2; done")
    assert output.split() == [f"{stream}{i}" for i in range(1, 10) for stream in ("out", "err")]


def test_stdin_can_be_given(tmp_path, state_dir, base):
    source = tmp_path / "input"
    source.write_bytes(b"typed in\n")
    chunks: list[bytes] = []
    with open(source, "rb") as stdin:
        spec = ProcessSpec(args=["cat"])
        run_step(base, tmp_path / "up", spec, state_dir=state_dir, output=chunks.append, stdin=stdin.fileno())
    assert b"".join(chunks) == b"typed in\n"


def test_missing_executable_is_a_start_error(step, base):
    with pytest.raises(ContainerStartError, match="executable file not found"):
        run_step(
            base,
            step.upper_root / "up",
            ProcessSpec(args=["no-such-program"]),
            state_dir=step.state_dir,
            output=lambda b: None,
        )


def test_environment_gets_buildkit_defaults(step, base):
    _, output, _ = step(base, "env | sort", env=["FOO=bar baz"])
    assert output.splitlines() == [
        "FOO=bar baz",
        "HOME=/root",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PWD=/",
        "SHLVL=1",
    ]


def test_explicit_path_and_home_are_kept(step, base):
    _, output, _ = step(base, 'echo "$PATH $HOME"', env=["PATH=/bin", "HOME=/x"])
    assert output == "/bin /x\n"


def test_missing_working_directory_is_created_owned_by_root(step, base):
    status, output, upper = step(base, "pwd; touch here", cwd="/work/dir", user="alice")
    assert status != 0  # alice cannot write into the root-owned directory BuildKit creates
    assert output.splitlines()[0] == "/work/dir"
    for path in (upper / "work", upper / "work" / "dir"):
        st = path.lstat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o755, 0, 0)


def test_sandbox_identity_capabilities_and_limits(step, base):
    script = "hostname; cat /etc/hosts; grep -E '^Cap(Eff|Bnd)' /proc/self/status; ulimit -n"
    _, output, _ = step(base, script)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = 1048576 if hard == resource.RLIM_INFINITY else min(1048576, hard)
    assert output.splitlines() == [
        "buildkitsandbox",
        "127.0.0.1\tlocalhost buildkitsandbox",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "CapEff:\t00000000a80425fb",
        "CapBnd:\t00000000a80425fb",
        str(nofile),
    ]


def test_system_mounts_are_read_only_where_docker_makes_them(step, base):
    script = (
        "echo 1 > /proc/sys/kernel/hostname; echo rc=$?; touch /sys/x; echo rc=$?;"
        " cat /proc/kcore | head -c1 | wc -c"
    )
    _, output, _ = step(base, script)
    assert [line for line in output.splitlines() if line.startswith("rc=") or line.isdigit()] == [
        "rc=1",
        "rc=1",
        "0",
    ]


def _links(output: str) -> list[str]:
    return sorted(line.split(":")[1].strip().split("@")[0] for line in output.splitlines() if ":" in line)


def test_network_none_has_only_loopback_and_it_is_up(step, base):
    _, output, _ = step(base, "ip -o link", network="none")
    assert _links(output) == ["lo"]
    assert "UP" in output.split("<", 1)[1].split(">", 1)[0].split(",")


def test_host_network_sees_the_hosts_interfaces(step, base):
    _, output, _ = step(base, "ip -o link")
    assert _links(output) == sorted(os.listdir("/sys/class/net"))
    assert len(_links(output)) > 1


def test_resolv_conf_is_the_hosts_on_the_host_network(step, base):
    _, output, _ = step(base, "cat /etc/resolv.conf")
    assert output == Path("/etc/resolv.conf").read_text()


def test_deleting_lower_files_leaves_whiteouts(step, tmp_path, base):
    lower = tmp_path / "data"
    (lower / "data" / "dir").mkdir(parents=True)
    (lower / "data" / "file").write_text("x")
    (lower / "data" / "dir" / "inner").write_text("y")
    status, _, upper = step([lower, *base], "rm /data/file && rm -r /data/dir && ls -A /data")
    assert status == 0
    for name in ("file", "dir"):
        st = (upper / "data" / name).lstat()
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)


def test_150_layers_mount_and_the_top_one_wins(step, tmp_path, base):
    layers = []
    for index in range(150):
        # Long paths, as in a store, so that only the short links keep the option string under a page.
        layer = tmp_path / "store" / "layers" / ("sha256-" + f"{index:064d}")
        (layer / "many").mkdir(parents=True)
        (layer / "many" / f"f{index}").write_text(f"{index}\n")
        (layer / "many" / "same").write_text(f"{index}\n")
        layers.append(layer)
    status, output, _ = step([*layers, *base], "ls /many | wc -l; cat /many/same /many/f149")
    assert status == 0
    assert output.split() == ["151", "0", "149"]
