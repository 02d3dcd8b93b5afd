"""Running one step's process in a throwaway runc container on an overlay of the parent's layers."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from builder.errors import BuildError
from builder.faults import checkpoint
from builder.fsops.rootpath import resolve_in_root
from builder.rootless.detect import in_user_namespace

from .bundle import write_bundle
from .guard import signals_deferred, sigterm_as_interrupt
from .overlay import mount_overlay
from .rundir import RunDir, runc_root
from .spec import ProcessSpec
from .stubs import Stubs
from .users import resolve_user
from .watchdog import Watchdog, watchdog

_READ_SIZE = 65536

#: Registers a function that kills a running step; returns the function that withdraws it.
StopHook = Callable[[Callable[[], None]], Callable[[], None]]
_PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


class ContainerStartError(BuildError):
    """runc could not start the step's process (missing executable, bad working directory, ...)."""


def runc_binary() -> str:
    """Path of the runc executable; BuildError if it is not installed."""
    found = shutil.which("runc") or shutil.which("runc", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise BuildError("runc is not installed (Debian/Ubuntu: apt-get install runc)")
    return found


def runc_command(state_dir: Path, *args: str, log: Path | None = None) -> list[str]:
    """A runc command line using our private state root (and a JSON log file, if given)."""
    command = [runc_binary(), "--root", str(runc_root(state_dir))]
    if in_user_namespace():
        # uid 0 in a user namespace cannot manage cgroups; rootless mode makes runc skip them.
        command += ["--rootless", "true"]
    if log is not None:
        command += ["--log", str(log), "--log-format", "json"]
    return [*command, *args]


def delete_container(state_dir: Path, container_id: str) -> None:
    """Kill and delete container ``container_id`` if it exists; idempotent."""
    subprocess.run(
        runc_command(state_dir, "delete", "--force", container_id),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        close_fds=True,
    )


def _ensure_cwd(rootfs: Path, cwd: str) -> None:
    # As BuildKit's executor: a missing working directory is created 0755 and owned by root.
    path = resolve_in_root(rootfs, cwd)
    missing = []
    while not os.path.lexists(path) and path != rootfs:
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir()
        os.chown(directory, 0, 0)
        directory.chmod(0o755)


def _start_error(log: Path) -> str | None:
    """The error runc logged, if it failed itself rather than the process exiting non-zero."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    messages = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("error", "fatal"):
            messages.append(str(entry.get("msg", "")))
    return messages[-1] if messages else None


def _become_subreaper() -> None:
    # With `runc run --detach` the container's init is re-parented to the nearest subreaper when runc exits;
    # being that subreaper makes it our child, so its exit status can be waited for like containerd's shim
    # does. Orphans in general become our children too, which matters only for them: we reap ours.
    if _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _reap(pid: int, *, block: bool) -> int | None:
    """Exit status (128+N for signal N) of child ``pid``; None if not exited (when not blocking) or gone."""
    while True:
        try:
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return None
        except InterruptedError:
            continue
        if done == 0:
            return None
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code


def _reap_after_kill(pid: int) -> None:
    deadline = time.monotonic() + 5
    while _reap(pid, block=False) is None and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def _stream(
    run: RunDir,
    state_dir: Path,
    output: Callable[[bytes], None],
    stdin: int | None,
    guard: Watchdog,
    stop: StopHook | None = None,
) -> int:
    _become_subreaper()
    log, pid_file = run.path / "runc.log", run.path / "pid"
    # Detached, runc hands its own stdout and stderr to the container instead of copying each through a
    # pipe of its own, so both reach us through one pipe in the order they were written. A session of its
    # own: a terminal's Ctrl-C reaches pybuild only, which then kills the container itself.
    command = runc_command(
        state_dir, "run", "--detach", "--pid-file", str(pid_file), "--bundle", str(run.path), run.id, log=log
    )
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = None
    try:
        try:
            runc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=write_end,
                stderr=write_end,
                start_new_session=True,
            )
            guard.creator(run.id, runc.pid)
            try:
                returncode = runc.wait()
            except BaseException:  # as subprocess.run: an interrupted start is not left to finish
                runc.kill()
                runc.wait()
                raise
        finally:
            os.close(write_end)
        if returncode != 0:
            message = _start_error(log) or f"runc exited with status {returncode}"
            raise ContainerStartError(message)
        pid = int(pid_file.read_text())
        guard.init(run.id, pid)
        checkpoint("run.started")
        # a cancelled build kills the container's init (and with its pid namespace every process in it);
        # the hook is dropped before the pid is reaped, so a reused pid is never signalled
        unhook = stop(lambda: _kill_init(pid)) if stop is not None else None
        try:
            while chunk := os.read(read_end, _READ_SIZE):
                output(chunk)
        finally:
            if unhook is not None:
                unhook()
        status = _reap(pid, block=True)
        checkpoint("run.exited")
        pid = None
        if status is None:
            raise ContainerStartError("the container's process was not ours to wait for")
        return status
    finally:
        os.close(read_end)
        if pid is not None:
            delete_container(state_dir, run.id)
            _reap_after_kill(pid)


def _kill_init(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def run_step(
    lowerdirs: Sequence[Path],
    upperdir: Path,
    spec: ProcessSpec,
    *,
    state_dir: Path,
    output: Callable[[bytes], None],
    stdin: int | None = None,
    stop: StopHook | None = None,
) -> int:
    """Run ``spec`` in a container whose rootfs is an overlay of ``lowerdirs`` (top first) and ``upperdir``.

    Every change the process makes lands in ``upperdir``, and nothing else: no mountpoint the container
    needed, and no directory copied up only to hold one (see `stubs`). The process's stdout and stderr,
    merged, are passed to ``output`` chunk by chunk as they arrive. Returns the exit status (128+N if killed
    by signal N). The process reads ``stdin`` (a file descriptor the caller keeps and closes; ``pybuild run
    -i`` passes 0), or /dev/null when None. ``stop(kill)``, when given, is called once the process runs with
    a function that kills it, and returns a function that withdraws it (a build being cancelled calls
    ``kill`` from another thread; the step then returns the status of the killed process).

    Raises UserLookupError if ``spec.user`` does not resolve, ContainerStartError if runc cannot start the
    process, MountError if the overlay cannot be mounted. On SIGINT, or SIGTERM when called from the main
    thread, the container is killed and everything below is undone before KeyboardInterrupt propagates.
    In all cases nothing is left behind: no container in runc's state, no mount, no run directory. If this
    process is killed outright, its `watchdog` deletes the container (the step's processes die with it).
    """
    state_dir = Path(os.path.abspath(state_dir))
    with sigterm_as_interrupt():
        run = RunDir(state_dir)
        mount = ExitStack()
        stubs, created = None, False
        try:
            rootfs = mount.enter_context(mount_overlay(run, lowerdirs, upperdir))
            checkpoint("run.mounted")
            user = resolve_user(rootfs, spec.user)
            _ensure_cwd(rootfs, spec.cwd)
            config = write_bundle(spec, user, bundle=run.path, container_id=run.id)
            stubs = Stubs(rootfs, upperdir)
            with signals_deferred():
                # Deferred so that every stub made is also recorded, hence removed.
                stubs.create(json.loads(config.read_text())["mounts"])
            guard = watchdog()
            guard.watch(run.id, runc_root(state_dir), runc_command(state_dir, "delete", "--force", run.id))
            created = True
            return _stream(run, state_dir, output, stdin, guard, stop)
        finally:
            with signals_deferred():
                try:
                    if created:
                        delete_container(state_dir, run.id)
                        guard.done(run.id)
                    if stubs is not None:
                        stubs.remove()
                finally:
                    try:
                        mount.close()
                        if stubs is not None:
                            # Only now: an upperdir must not be changed under a live overlay.
                            stubs.prune_upper()
                    finally:
                        run.close()
