"""The seccomp profile of a step, resolved from Docker's default rules for its capabilities and the host, and
the owner records that tell a live build's run directory from a leftover. Pure: no container is started."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from builder.runtime.bundle import DEFAULT_CAPABILITIES, all_capabilities
from builder.runtime.liveness import Owner, read_owner, write_owner
from builder.runtime.seccomp import default_profile


def _rules(profile: dict, name: str) -> list[dict]:
    return [rule for rule in profile["syscalls"] if name in rule["names"]]


def test_default_capabilities_refuse_namespaces_and_mounts():
    profile = default_profile(DEFAULT_CAPABILITIES, arch="amd64", kernel=(6, 1))
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["defaultErrnoRet"] == 1
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    for name in (
        "mount",
        "umount2",
        "unshare",
        "setns",
        "bpf",
        "keyctl",
        "reboot",
        "init_module",
        "kexec_load",
    ):
        assert not _rules(profile, name), name
    (clone,) = _rules(profile, "clone")  # only without namespace flags (masked with them, equal to 0)
    assert clone["args"] == [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ"}]
    (clone3,) = _rules(profile, "clone3")
    assert clone3["action"] == "SCMP_ACT_ERRNO" and clone3["errnoRet"] == 38
    assert _rules(profile, "chroot") and _rules(profile, "arch_prctl")  # CAP_SYS_CHROOT; an amd64 host
    assert not _rules(profile, "set_tls")  # an arm call


def test_ptrace_needs_a_recent_kernel_or_the_capability():
    assert _rules(default_profile(DEFAULT_CAPABILITIES, arch="amd64", kernel=(6, 1)), "ptrace")
    assert not _rules(default_profile(DEFAULT_CAPABILITIES, arch="amd64", kernel=(4, 4)), "ptrace")


def test_sys_admin_allows_what_docker_allows_it():
    profile = default_profile([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"], arch="arm64", kernel=(6, 1))
    assert _rules(profile, "mount") and _rules(profile, "unshare") and _rules(profile, "setns")
    assert all("args" not in rule for rule in _rules(profile, "clone"))
    assert not [rule for rule in _rules(profile, "clone3") if rule["action"] != "SCMP_ACT_ALLOW"]
    assert profile["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"] and _rules(profile, "set_tls")


def test_s390x_clone_flags_are_the_second_argument():
    (clone,) = _rules(default_profile(DEFAULT_CAPABILITIES, arch="s390x", kernel=(6, 1)), "clone")
    assert clone["args"][0]["index"] == 1


def test_every_capability_still_gets_a_filter_when_asked_for():
    # the runtime gives a privileged step no filter at all; the profile itself stays a filter
    profile = default_profile(all_capabilities(), arch="amd64", kernel=(6, 1))
    assert _rules(profile, "mount") and profile["defaultAction"] == "SCMP_ACT_ERRNO"


def test_an_owner_record_names_this_process_alive(tmp_path):
    write_owner(tmp_path / "owner")
    owner = read_owner(tmp_path / "owner")
    assert owner is not None and owner.pid == os.getpid() and owner.alive()
    assert oct(os.stat(tmp_path / "owner").st_mode & 0o777) == "0o600"


def test_a_dead_process_or_a_reused_pid_is_not_alive(tmp_path):
    script = (
        "import pathlib, sys; from builder.runtime.liveness import write_owner; "
        "write_owner(pathlib.Path(sys.argv[1]))"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "owner")], check=True)
    dead = read_owner(tmp_path / "owner")
    assert dead is not None and not dead.alive()
    me = Owner.current()
    assert not Owner(me.pid, me.start + 1, me.boot, me.pid_ns).alive()  # same pid, another process
    assert not Owner(me.pid, me.start, "another-boot", me.pid_ns).alive()
    assert Owner(me.pid, me.start, me.boot, "pid:[1]").alive()  # another pid namespace: kept


@pytest.mark.parametrize("text", ["", "12 34", "12 34 boot pid:[1]", "x 34 boot pid:[1]\n"])
def test_incomplete_records_name_no_owner(text):
    assert Owner.parse(text) is None
