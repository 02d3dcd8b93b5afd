"""fuse-overlayfs mounts: the overlay mode for machines whose kernel refuses overlayfs in a user namespace.

fuse-overlayfs runs in the foreground as a child of pybuild, in a session of its own (a terminal's Ctrl-C
must not end it while a container still uses the mount), and is told to exit with SIGTERM when pybuild dies
(``PR_SET_PDEATHSIG``), whereupon it unmounts. Its pid is written to ``fuse.pid`` in the run directory,
and the run directory's path is in its environment (``PYBUILD_FUSE_RUN``; it changes its working directory
to /), so `kill_leftover` can end one that outlived a killed pybuild — in a rootless build its mount lives
in a namespace the next pybuild cannot see, and only ending the process undoes it.

After unmounting, the upperdir is rewritten in the kernel's form (`builder.layer.whiteouts.to_kernel_form`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .mounts import unmount

PID_FILE = "fuse.pid"
RUN_VARIABLE = "PYBUILD_FUSE_RUN"
LOG_FILE = "fuse.log"
_PR_SET_PDEATHSIG = 1
_READY_SECONDS = 20
_EXIT_SECONDS = 10


class FuseError(OSError):
    """fuse-overlayfs could not mount (not installed, no /dev/fuse access, bad layer directory)."""


def fuse_binary() -> str | None:
    """The fuse-overlayfs program on PATH, or None."""
    return shutil.which("fuse-overlayfs")


def _die_with_parent() -> Callable[[], None] | None:
    """The function the child runs before exec: SIGTERM to it when its parent goes. Everything it needs is
    looked up here, in the parent: between fork and exec a child of a threaded process must not import."""
    from builder.libc import libc

    prctl = libc().prctl

    def request() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return request


def _log_tail(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    # fuse-overlayfs warns about options it ignores; those say nothing about the failure
    lines = [line for line in lines if not line.startswith("unknown argument ignored")]
    return lines[-1] if lines else ""


@contextmanager
def fuse_mounted(cwd: Path, lower_option: str, *, upper: str, work: str, target: str) -> Iterator[None]:
    """Mount fuse-overlayfs at ``cwd / target`` (paths relative to ``cwd``) for the block; unmounted and the
    process ended on exit, whatever happens. Raises FuseError if it does not mount."""
    binary = fuse_binary()
    if binary is None:
        raise FuseError("fuse-overlayfs is not installed (Debian: apt-get install fuse-overlayfs)")
    from builder.rootless.detect import in_user_namespace

    log = cwd / LOG_FILE
    options = f"lowerdir={lower_option},upperdir={upper},workdir={work}"
    if not in_user_namespace():
        # FUSE mounts are nodev unless asked; a layer's device nodes (/dev/null outside /dev, say) work on
        # the kernel's overlay, so they do here (in a user namespace no mount can have them work)
        options = "dev," + options
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [binary, "-f", "-o", options, target],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            close_fds=True,
            env={**os.environ, RUN_VARIABLE: os.path.realpath(cwd)},
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    mountpoint = cwd / target
    try:
        (cwd / PID_FILE).write_text(str(process.pid))
        _wait_mounted(process, mountpoint, cwd, log)
        yield
    finally:
        try:
            unmount(mountpoint)
        finally:
            _wait_exit(process)


def _wait_mounted(process: subprocess.Popen, mountpoint: Path, cwd: Path, log: Path) -> None:
    outside = os.stat(cwd).st_dev
    deadline = time.monotonic() + _READY_SECONDS
    while True:
        if process.poll() is not None:
            why = _log_tail(log) or f"exited with status {process.returncode}"
            raise FuseError(why if why.startswith("fuse-overlayfs:") else f"fuse-overlayfs: {why}")
        if os.stat(mountpoint).st_dev != outside:
            return
        if time.monotonic() > deadline:
            raise FuseError(f"fuse-overlayfs did not mount within {_READY_SECONDS} s")
        time.sleep(0.005)


def _wait_exit(process: subprocess.Popen) -> None:
    # Unmounted, fuse-overlayfs sees its device close and exits; only then is the upperdir finished.
    try:
        process.wait(timeout=_EXIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def kill_leftover(run_path: Path) -> None:
    """End the fuse-overlayfs a dead pybuild started in run directory ``run_path``, if it still runs.

    The pid in ``fuse.pid`` is trusted only if that process's environment names ``run_path``: a pid reused
    by an unrelated process is left alone.
    """
    try:
        pid = int((run_path / PID_FILE).read_text())
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if f"{RUN_VARIABLE}={os.path.realpath(run_path)}".encode() not in environment:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return
    deadline = time.monotonic() + _EXIT_SECONDS
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            pass
        time.sleep(0.01)
