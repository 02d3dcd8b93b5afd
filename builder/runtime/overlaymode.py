"""Which overlay mode gives a step its root: kernel overlayfs, fuse-overlayfs, or a copy of the layers.

``PYBUILD_OVERLAY`` chooses: ``overlayfs``, ``fuse-overlayfs`` or ``copy`` force a mode; ``auto`` (or unset)
tries an overlayfs mount (with ``userxattr`` in a user namespace, Linux 5.11+), then a fuse-overlayfs mount if
the program is installed, and takes the first that works, else the copy. Each probe mounts an empty overlay in
a run directory of its own, so it tests the file system the real mounts use and a crash leaves nothing
`cleanup_stale` cannot undo; the answer is kept for the rest of the process (one probe per process and state
directory). For root the kernel
mount works, so auto stays kernel overlayfs.

All three modes leave the same upperdir (see `overlay.mount_overlay`): the layer writer and the cache never
know which one ran.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import BuildError
from builder.layer.form import ROOT_FORM, USER_NAMESPACE_FORM, LayerForm

VARIABLE = "PYBUILD_OVERLAY"
KERNEL = "overlayfs"
FUSE = "fuse-overlayfs"
COPY = "copy"
MODES = (KERNEL, FUSE, COPY)

# Features that would store changes as redirects or metadata-only copies in the upperdir, which then would
# not be a plain diff; off explicitly whatever the kernel's defaults are.
_PLAIN_UPPER = "index=off,redirect_dir=off,metacopy=off"
# In a user namespace (rootless builds) overlayfs needs ``userxattr``, which keeps its markers under
# ``user.overlay.`` and refuses ``redirect_dir=off`` (``nofollow`` likewise creates no redirects).
_PLAIN_UPPER_USERNS = "userxattr,index=off,redirect_dir=nofollow,metacopy=off"


def plain_upper_options() -> str:
    """The overlay options that keep the upperdir a plain diff, for this process's user namespace."""
    from builder.rootless.detect import in_user_namespace

    return _PLAIN_UPPER_USERNS if in_user_namespace() else _PLAIN_UPPER


def layer_form() -> LayerForm:
    """How the upperdirs of this process's overlays are marked (`builder.layer.form`): the runtime knows
    the namespace it mounts in, and tells the layer code."""
    from builder.rootless.detect import in_user_namespace

    return USER_NAMESPACE_FORM if in_user_namespace() else ROOT_FORM


def kernel_mount_command(lower_option: str, upper: str, work: str, target: str) -> list[str]:
    """The ``mount`` command line of a kernel overlay (paths as given: relative ones keep it short)."""
    options = f"lowerdir={lower_option},upperdir={upper},workdir={work},{plain_upper_options()}"
    return ["mount", "-t", "overlay", "overlay", "-o", options, target]


@dataclass(frozen=True)
class Choice:
    """The mode used, whether ``PYBUILD_OVERLAY`` forced it, and why each mode tried before it was not."""

    mode: str
    forced: bool = False
    refused: tuple[tuple[str, str], ...] = field(default=())

    def describe(self) -> str:
        """``fuse-overlayfs (overlayfs refused: ...)``, ``copy (forced by PYBUILD_OVERLAY)``, ``overlayfs``."""
        from builder.rootless.detect import in_user_namespace

        shown = f"{KERNEL} (userxattr)" if self.mode == KERNEL and in_user_namespace() else self.mode
        notes = [f"forced by {VARIABLE}"] if self.forced else []
        notes += [f"{mode} refused: {why}" for mode, why in self.refused]
        return f"{shown} ({'; '.join(notes)})" if notes else shown


def requested() -> str:
    """``PYBUILD_OVERLAY``'s mode, or ``auto``; BuildError for anything else."""
    value = os.environ.get(VARIABLE, "").strip() or "auto"
    if value != "auto" and value not in MODES:
        raise BuildError(f"{VARIABLE}={value}: expected auto, {', '.join(MODES[:-1])} or {MODES[-1]}")
    return value


def choose(under: Path) -> Choice:
    """The overlay mode for mounts made under ``under`` (a state directory; need not exist yet), probing
    each mode in turn if none is forced. The answer is kept: later calls return it."""
    return _choose(requested(), os.path.abspath(under))


def current(under: Path) -> Choice:
    """The mode to try for a mount under ``under``: the forced one, the one `choose` found, or — before
    anything was probed — kernel overlayfs on trust (a mount that fails then calls `choose`)."""
    wanted = requested()
    if wanted != "auto":
        return Choice(wanted, forced=True)
    return _CHOSEN.get((wanted, os.path.abspath(under))) or Choice(KERNEL)


def known(under: Path) -> bool:
    """Whether `choose` has already answered for ``under`` in this process."""
    return (requested(), os.path.abspath(under)) in _CHOSEN


#: `choose`'s answers in this process, by (PYBUILD_OVERLAY, state directory).
_CHOSEN: dict[tuple[str, str], Choice] = {}


def forget() -> None:
    """Drop the answers kept (tests that change what the machine offers call this)."""
    _CHOSEN.clear()


def _choose(wanted: str, under: str) -> Choice:
    if (wanted, under) not in _CHOSEN:
        _CHOSEN[(wanted, under)] = _probe(wanted, under)
    return _CHOSEN[(wanted, under)]


def _probe(wanted: str, under: str) -> Choice:
    if wanted != "auto":
        return Choice(wanted, forced=True)
    refused = []
    why = probe_kernel(Path(under))
    if why is None:
        return Choice(KERNEL)
    refused.append((KERNEL, why))
    why = probe_fuse(Path(under))
    if why is None:
        return Choice(FUSE, refused=tuple(refused))
    refused.append((FUSE, why))
    return Choice(COPY, refused=tuple(refused))


@contextmanager
def _scratch(under: Path) -> Iterator[Path]:
    """A directory holding empty ``l``, ``u``, ``w`` and ``m`` for a probe mount, removed afterwards.

    In a state directory it is a run directory, so a probe cut short by SIGKILL is one more leftover for
    `cleanup_stale`; elsewhere (``pybuild info`` before any build) a temporary directory on the file system
    ``under`` will be made on.
    """
    if under.is_dir():
        from .rundir import RunDir

        run = RunDir(under)
        try:
            for name in ("l", "u", "w", "m"):
                (run.path / name).mkdir()
            yield run.path
        finally:
            run.close()
        return
    while not under.is_dir() and under != under.parent:
        under = under.parent
    with tempfile.TemporaryDirectory(prefix=".pybuild-probe-", dir=under) as base:
        for name in ("l", "u", "w", "m"):
            (Path(base) / name).mkdir()
        yield Path(base)


def probe_kernel(under: Path) -> str | None:
    """None if a kernel overlay mounts under ``under`` with the runtime's options, else why not."""
    from .mounts import unmount

    with _scratch(under) as base:
        done = subprocess.run(
            kernel_mount_command("l", "u", "w", "m"), cwd=base, capture_output=True, text=True, close_fds=True
        )
        if done.returncode != 0:
            return done.stderr.strip() or f"mount exited with status {done.returncode}"
        unmount(base / "m")
    return None


def probe_fuse(under: Path) -> str | None:
    """None if fuse-overlayfs is installed and mounts an overlay under ``under``, else why not."""
    from .fuse import FuseError, fuse_binary, fuse_mounted

    if fuse_binary() is None:
        return "not installed (Debian: apt-get install fuse-overlayfs)"
    with _scratch(under) as base:
        try:
            with fuse_mounted(base, "l", upper="u", work="w", target="m"):
                pass
        except FuseError as error:
            return str(error)
    return None
