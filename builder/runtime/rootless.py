"""What changes in a step's container when pybuild runs in a user namespace (a rootless build).

uid 0 there owns the namespace but not the host's cgroups, nor the network namespace of the host: so no
cgroup (runc, in rootless mode, skips cgroups only when no cgroup path or resources are asked for), and on
the host network /sys is the host's, bind-mounted read-only, since sysfs may only be mounted by the owner of
the network namespace (with ``network="none"`` runc makes a namespace of ours, and sysfs mounts as usual).
The cgroup tree is then the host's as bind-mounted with /sys. Everything else (mounts, masked paths,
capabilities, the no-trace rule) is as for root.
"""

from __future__ import annotations

_SYS_BIND = {
    "destination": "/sys",
    "type": "bind",
    "source": "/sys",
    "options": ["rbind", "nosuid", "noexec", "nodev", "ro"],
}


def rootless_adjusted(mounts: list[dict], linux: dict, *, network: str) -> tuple[list[dict], list | dict]:
    """``(mounts, linux)`` of a root container's ``config.json`` changed for a rootless one."""
    adjusted = []
    for mount in mounts:
        if mount["type"] == "cgroup":
            continue
        if mount["type"] == "sysfs" and network == "host":
            writable = "ro" not in mount["options"]
            mount = {**_SYS_BIND, "options": [o for o in _SYS_BIND["options"] if not (writable and o == "ro")]}
        adjusted.append(mount)
    linux = {key: value for key, value in linux.items() if key not in ("cgroupsPath", "resources")}
    return adjusted, linux
