"""What a caller asks the runtime to run: the process and any extra mounts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from builder.errors import BuildError

#: BuildKit's PATH when the step's environment has none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: BuildKit's hostname for build containers.
DEFAULT_HOSTNAME = "buildkitsandbox"


class MountSourceError(BuildError):
    """A mount's source is not an absolute host path (a caller's error, refused rather than guessed at)."""


@dataclass(frozen=True)
class Mount:
    """One extra mount in the container, in OCI runtime-spec terms (``RUN --mount`` builds on this).

    ``destination`` is an absolute path inside the container; ``kind`` is the filesystem type (``bind``,
    ``tmpfs``); for a bind mount ``source`` is an absolute host path (MountSourceError otherwise) and
    ``options`` should hold ``rbind`` (and ``ro`` for a read-only one). A mountpoint the runtime had to
    create for it is removed after the step when it is still empty, as BuildKit does.
    """

    destination: str
    kind: str = "bind"
    source: str = ""
    options: tuple[str, ...] = ("rbind",)

    def __post_init__(self) -> None:
        # runc takes a relative source from the bundle, which is pybuild's run directory: never hand it one
        if self.kind == "bind" and not os.path.isabs(self.source):
            raise MountSourceError(f"bind mount source {self.source!r} for {self.destination} is not absolute")


@dataclass(frozen=True)
class ProcessSpec:
    """The process of one step.

    ``args`` is the argv as it will be executed (a shell-form RUN is already wrapped in SHELL by the caller).
    ``env`` holds ``KEY=VALUE`` strings; PATH defaults to `DEFAULT_PATH` when absent and HOME is set by runc
    from the user's passwd entry (``/`` if none) when absent. ``cwd`` is created (mode 0755, owned by root) if
    missing. ``user`` is USER as written: ``name``, ``uid``, ``name:group`` or ``uid:gid`` (empty means root);
    it is resolved against the rootfs's /etc/passwd and /etc/group. ``network`` is ``host`` (the host's
    network namespace) or ``none`` (a new namespace with only loopback, up). ``extra_hosts`` are
    ``(address, name)`` lines appended to the generated /etc/hosts (``--add-host``). ``ulimits`` are
    ``(name, soft, hard)`` rlimits (``--ulimit``; -1 unlimited) over the default ``nofile``; ``shm_size`` the
    bytes of /dev/shm (None: 64 MiB). ``privileged``
    (``RUN --security=insecure``) gives the process every capability, access to every device node it makes,
    no masked or read-only /proc and /sys paths, a writable /sys and no seccomp filter, as BuildKit's
    insecure mode does.
    """

    args: list[str]
    env: list[str] = field(default_factory=list)
    cwd: str = "/"
    user: str = ""
    network: str = "host"
    hostname: str = DEFAULT_HOSTNAME
    extra_mounts: list[Mount] = field(default_factory=list)
    extra_hosts: list[tuple[str, str]] = field(default_factory=list)
    privileged: bool = False
    ulimits: list[tuple[str, int, int]] = field(default_factory=list)
    shm_size: int | None = None

    def __post_init__(self) -> None:
        if not self.args:
            raise ValueError("ProcessSpec.args must not be empty")
        if self.network not in ("host", "none"):
            raise ValueError(f"unsupported network mode {self.network!r} (host or none)")

    def effective_env(self) -> list[str]:
        """``env`` with BuildKit's default PATH added when it has none."""
        if any(entry.split("=", 1)[0] == "PATH" for entry in self.env):
            return list(self.env)
        return [f"PATH={DEFAULT_PATH}", *self.env]
