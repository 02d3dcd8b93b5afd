"""The OCI runtime-spec ``config.json`` of a step's container, and the files it bind-mounts.

The configuration follows what BuildKit's runc executor produces (containerd's default spec, Docker's
default capabilities, masked and read-only paths), so a RUN sees the same environment as under
``docker build``: hostname ``buildkitsandbox``, a generated /etc/hosts, the host's /etc/resolv.conf.
"""

from __future__ import annotations

import json
import resource
from contextlib import suppress
from pathlib import Path

from builder.rootless.detect import in_user_namespace

from .rootless import rootless_adjusted
from .seccomp import default_profile
from .spec import ProcessSpec
from .users import ResolvedUser

#: Docker's default capability set.
DEFAULT_CAPABILITIES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]

MASKED_PATHS = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
]


def all_capabilities() -> list[str]:
    """Every capability this process may pass on (its bounding set), by name, as containerd's privileged
    containers get: asking runc for one outside it fails."""
    names = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT",
        "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
        "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND",
        "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    ]  # fmt: skip
    bounding = (1 << len(names)) - 1
    with suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        bounding = int(next(line for line in status if line.startswith("CapBnd:")).split()[1], 16)
    return [f"CAP_{name}" for bit, name in enumerate(names) if bounding >> bit & 1]


READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

_STANDARD_MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {
        "destination": "/dev",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
        "destination": "/dev/pts",
        "type": "devpts",
        "source": "devpts",
        "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
        "destination": "/dev/shm",
        "type": "tmpfs",
        "source": "shm",
        "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    {
        "destination": "/dev/mqueue",
        "type": "mqueue",
        "source": "mqueue",
        "options": ["nosuid", "noexec", "nodev"],
    },
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {
        "destination": "/sys/fs/cgroup",
        "type": "cgroup",
        "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
]

#: Container paths the runtime bind-mounts files onto; their stubs are removed after the step.
FILE_MOUNTS = ("/etc/resolv.conf", "/etc/hosts")

_NOFILE_CEILING = 1048576
_FALLBACK_DNS = ["8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844"]


def hosts_file(spec: ProcessSpec) -> str:
    """The /etc/hosts a step sees: BuildKit's two loopback lines naming the hostname, then extra hosts."""
    lines = [f"127.0.0.1\tlocalhost {spec.hostname}", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{address}\t{name}" for address, name in spec.extra_hosts]
    return "\n".join(lines) + "\n"


def _is_local_nameserver(line: str) -> bool:
    words = line.split()
    if len(words) < 2 or words[0] != "nameserver":
        return False
    return words[1].startswith("127.") or words[1] == "::1"


def resolv_conf(host_text: str, network: str) -> str:
    """The /etc/resolv.conf a step sees, from the host's: as is on the host network; in a network namespace
    of its own, without loopback nameservers (unreachable there) and public ones instead if none remain."""
    has_nameserver = any(line.split()[:1] == ["nameserver"] for line in host_text.splitlines())
    if network == "host" and has_nameserver:
        return host_text
    kept = [line for line in host_text.splitlines() if not _is_local_nameserver(line)]
    if not any(line.split()[:1] == ["nameserver"] for line in kept):
        kept += [f"nameserver {address}" for address in _FALLBACK_DNS]
    return "\n".join(kept) + "\n"


def nofile_limit() -> int:
    """RLIMIT_NOFILE for the container: high, but never above the host's hard limit (runc fails then)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return _NOFILE_CEILING if hard == resource.RLIM_INFINITY else min(_NOFILE_CEILING, hard)


def _sized_shm(mount: dict, size: int) -> dict:
    if mount["destination"] != "/dev/shm":
        return mount
    return {**mount, "options": [o for o in mount["options"] if not o.startswith("size=")] + [f"size={size}"]}


def _rlimits(nofile: int, ulimits: list[tuple[str, int, int]]) -> list[dict]:
    """The default RLIMIT_NOFILE, then ``--ulimit`` values (which replace it for ``nofile``); -1 is
    unlimited (runc takes the all-ones value)."""
    unlimited = 2**64 - 1
    limits = {"RLIMIT_NOFILE": (nofile, nofile)}
    for name, soft, hard in ulimits:
        limits[f"RLIMIT_{name.upper()}"] = (unlimited if soft < 0 else soft, unlimited if hard < 0 else hard)
    return [{"type": kind, "hard": hard, "soft": soft} for kind, (soft, hard) in limits.items()]


def build_config(spec: ProcessSpec, user: ResolvedUser, *, bundle: Path, container_id: str) -> dict:
    """The ``config.json`` document for running ``spec`` as ``user`` with rootfs ``bundle / "rootfs"``.

    ``bundle`` must already hold the ``hosts`` and ``resolv.conf`` files this configuration bind-mounts.
    """
    limit = nofile_limit()
    namespaces = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
    if spec.network == "none":
        # runc brings loopback up in a network namespace it creates; nothing else is configured.
        namespaces.append({"type": "network"})
    file_mounts = [
        {
            "destination": destination,
            "type": "bind",
            "source": str(bundle / Path(destination).name),
            "options": ["rbind", "ro", "nosuid", "nodev", "noexec"],
        }
        for destination in FILE_MOUNTS
    ]
    extra = [
        {"destination": m.destination, "type": m.kind, "source": m.source, "options": list(m.options)}
        for m in spec.extra_mounts
    ]
    capabilities = all_capabilities() if spec.privileged else list(DEFAULT_CAPABILITIES)
    standard = _STANDARD_MOUNTS
    if spec.shm_size is not None:
        standard = [_sized_shm(m, spec.shm_size) for m in standard]
    if spec.privileged:  # a writable /sys and cgroup tree, as containerd's WithPrivileged gives
        standard = [
            {**m, "options": [o for o in m["options"] if o != "ro"]} if m["type"] in ("sysfs", "cgroup") else m
            for m in _STANDARD_MOUNTS
        ]
    linux = {
        "namespaces": namespaces,
        "maskedPaths": [] if spec.privileged else list(MASKED_PATHS),
        "readonlyPaths": [] if spec.privileged else list(READONLY_PATHS),
        "resources": {"devices": [{"allow": spec.privileged, "access": "rwm"}]},
        "cgroupsPath": f"/pybuild/{container_id}",
    }
    if not spec.privileged:
        # Docker's default filter, as BuildKit's sandbox mode applies it; insecure mode runs without one.
        linux["seccomp"] = default_profile(capabilities)
    if in_user_namespace():
        standard, linux = rootless_adjusted(standard, linux, network=spec.network)
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.additional_gids)},
            "args": list(spec.args),
            "env": spec.effective_env(),
            "cwd": spec.cwd,
            "capabilities": {key: list(capabilities) for key in ("bounding", "effective", "permitted")},
            "rlimits": _rlimits(limit, spec.ulimits),
            "noNewPrivileges": False,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": spec.hostname,
        "mounts": [*standard, *file_mounts, *extra],
        "linux": linux,
    }


def write_bundle(spec: ProcessSpec, user: ResolvedUser, *, bundle: Path, container_id: str) -> Path:
    """Write ``hosts``, ``resolv.conf`` and ``config.json`` into ``bundle``; return the config's path."""
    (bundle / "hosts").write_text(hosts_file(spec))
    try:
        host_resolv = Path("/etc/resolv.conf").read_text()
    except OSError:
        host_resolv = ""
    (bundle / "resolv.conf").write_text(resolv_conf(host_resolv, spec.network))
    for name in ("hosts", "resolv.conf"):
        (bundle / name).chmod(0o644)
    config = bundle / "config.json"
    config.write_text(json.dumps(build_config(spec, user, bundle=bundle, container_id=container_id), indent=1))
    return config
