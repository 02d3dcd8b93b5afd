"""The container runtime: overlayfs mounts of unpacked layers and throwaway runc containers.

This package knows nothing of Buildfiles or the store; it takes directories. It is the only code in pybuild
that mounts filesystems or starts containers. It needs runc, and root (or uid 0 of pybuild's user namespace,
see `builder.rootless`). The merged root is kernel overlayfs, fuse-overlayfs or a copy of the layers, as
`overlaymode` chooses (``PYBUILD_OVERLAY``); every mode leaves the same upperdir.

Interface::

    run_step(lowerdirs, upperdir, spec, *, state_dir, output, stdin=None) -> int
        Run ProcessSpec ``spec`` in a container whose rootfs is an overlay of ``lowerdirs`` (unpacked
        layers, top first, possibly none) and ``upperdir`` (the step's diff, created if missing). Output
        (stdout and stderr merged) goes to ``output(chunk: bytes)`` as it arrives; returns the exit status.
        Raises UserLookupError (USER not defined by the image), ContainerStartError (runc could not start
        the process), MountError. SIGINT (and SIGTERM, from the main thread) kill the container, undo
        everything, then raise KeyboardInterrupt. ``stdin``: an fd for the process's stdin (default
        /dev/null). The first call makes the process a child subreaper (prctl), which is how the exit
        status of the detached container's init is collected; stdout and stderr then share one pipe, in
        the order the process wrote them. The process's `watchdog` deletes the container if the process dies
        without doing so itself.

    overlay(lowerdirs, upperdir, *, state_dir)  (context manager) -> merged root Path
        The same mount without a container, for COPY/ADD; undone on exit.

    cleanup_stale(state_dir) -> list[str]
        After a crash: delete our leftover containers, unmount, remove bundles and overlay workdirs.
        Skips what concurrent live processes are using (by the owner process recorded in each run
        directory, see `liveness`; no lock a step could hold).

    resolve_user(rootfs, user) -> ResolvedUser(uid, gid, additional_gids)
        USER resolution as BuildKit does it (exposed for COPY --chown and friends).

``state_dir`` is a directory of pybuild's (the builder uses ``store.state_dir("runtime")``): run directories
live in ``state_dir/runs/<id>`` and runc's state in ``state_dir/runc``, never in the host's /run/runc.

What a step sees matches BuildKit's runc executor: namespaces mount, pid, ipc, uts (plus network for
``network="none"``, where only loopback exists, up); hostname ``buildkitsandbox``; /proc, /dev (tmpfs with
the standard nodes), /dev/pts, /dev/shm, /dev/mqueue, /sys (read-only), /sys/fs/cgroup (read-only);
a generated /etc/hosts and the host's /etc/resolv.conf, bind-mounted read-only; Docker's 14 default
capabilities; Docker's default seccomp filter (`seccomp`; none for a privileged step); Docker's masked and
read-only /proc and /sys paths; RLIMIT_NOFILE as high as the host's hard limit allows (at most 1048576);
PATH defaulting to BuildKit's; HOME from the user's passwd entry.

What a step leaves in ``upperdir`` is its process's own changes, plus the working directory if it had to be
created (as BuildKit does). Unlike BuildKit v0.13 it holds no trace of a mountpoint: no dev/ proc/ sys/ made
for mounts, no etc/ copied up only to hold the /etc/hosts and /etc/resolv.conf stubs — see `stubs`.
"""

from builder.lazyexports import install

# Each name is imported from its module on first use (PEP 562): a fully cached build touches only
# `cleanup_stale`, and need not load the runc driver, the bundle writer and subprocess plumbing.
_WHERE = {
    "cleanup_stale": "cleanup",
    "MAX_LOWERDIRS": "overlay",
    "MountError": "overlay",
    "overlay": "overlay",
    "ContainerStartError": "runc",
    "run_step": "runc",
    "DEFAULT_HOSTNAME": "spec",
    "DEFAULT_PATH": "spec",
    "Mount": "spec",
    "ProcessSpec": "spec",
    "ResolvedUser": "users",
    "UserLookupError": "users",
    "resolve_user": "users",
}


install(__name__, _WHERE)


__all__ = [
    "DEFAULT_HOSTNAME",
    "DEFAULT_PATH",
    "MAX_LOWERDIRS",
    "ContainerStartError",
    "Mount",
    "MountError",
    "ProcessSpec",
    "ResolvedUser",
    "UserLookupError",
    "cleanup_stale",
    "overlay",
    "resolve_user",
    "run_step",
]
