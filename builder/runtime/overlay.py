"""overlayfs mounts of unpacked layers, with short option strings so hundreds of layers fit.

The mount option string is limited to one page (4096 bytes). Store paths of layers are long, so the run
directory holds numbered symlinks (``l/0``, ``l/1``, ...) to the lowerdirs, plus ``u`` and ``w`` to the
upper and work directories, and the mount is made with the run directory as the working directory and
relative paths: about six bytes per layer, so overlayfs' own limit (500 layers) is reached first.

The same holds for fuse-overlayfs (`fuse`). Where neither mounts, the "mount" is a copy (`copymount`);
`overlaymode` decides which of the three a mount is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from builder.faults import checkpoint

from . import overlaymode
from .guard import signals_deferred, sigterm_as_interrupt
from .mounts import unmount
from .rundir import RunDir

#: overlayfs refuses more lower layers than this.
MAX_LOWERDIRS = 500


def plain_upper_options() -> str:
    """The overlay options that keep the upperdir a plain diff, for this process's user namespace."""
    return overlaymode.plain_upper_options()


class MountError(OSError):
    """The overlay could not be mounted (bad layer directory, too many layers, kernel refusal)."""


def _workdir_for(upperdir: Path, run: RunDir) -> Path:
    # overlayfs needs the workdir on the upperdir's filesystem, hence beside it rather than in the run dir.
    return upperdir.parent / f".{upperdir.name}.{run.id}.work"


def _without_repeats(lowerdirs: Sequence[Path]) -> list[Path]:
    """Keep only the topmost occurrence of a layer listed twice (two steps can make identical layers).

    overlayfs refuses a directory used twice (ELOOP); dropping the lower copy changes nothing, because the
    upper copy holds every entry and whiteout the lower one has.
    """
    seen: set[str] = set()
    kept = []
    for lower in lowerdirs:
        key = os.path.abspath(lower)
        if key not in seen:
            seen.add(key)
            kept.append(Path(lower))
    return kept


@contextmanager
def mount_overlay(run: RunDir, lowerdirs: Sequence[Path], upperdir: Path) -> Iterator[Path]:
    """Mount the overlay at ``run.path / "rootfs"`` and yield that path; unmounted on exit, whatever happens.

    ``lowerdirs`` are listed top layer first and may be empty (a scratch image). ``upperdir`` is created if
    missing and receives every change made through the mount; the workdir beside it is removed afterwards.
    The overlay mode (`overlaymode.current`, for the run directory's state directory) decides what the
    mount is; whichever it is, ``upperdir`` ends in the kernel overlay's form (after an exception,
    fuse-overlayfs' upperdir is left as it wrote it: callers discard it then).

    Left to choose, the first kernel mount of a process is its probe: only if it fails is the kernel probed
    apart (`overlaymode.choose`), and if that fails too the mount is made in the mode chosen instead.
    """
    lowerdirs = _without_repeats(lowerdirs)
    if len(lowerdirs) > MAX_LOWERDIRS:
        raise MountError(f"{len(lowerdirs)} layers: overlayfs mounts at most {MAX_LOWERDIRS}")
    for lower in lowerdirs:
        if not Path(lower).is_dir():
            raise MountError(f"layer directory {lower} does not exist")
    upperdir.mkdir(parents=True, exist_ok=True)
    # The mode is chosen for where the upperdir lives, which is the state directory's file system but for a
    # step with env secrets: its state directory is a tmpfs of its own (`builder.mounts.secrets`).
    state = run.path.parent.parent
    if os.stat(state).st_dev != os.stat(upperdir.parent).st_dev:
        state = upperdir.parent
    choice = overlaymode.current(state)
    mounted = ExitStack()
    try:
        rootfs = mounted.enter_context(_mounted(run, lowerdirs, upperdir, choice.mode))
    except MountError:
        if choice.mode != overlaymode.KERNEL or choice.forced or overlaymode.known(state):
            raise
        choice = overlaymode.choose(state)  # was it this mount, or overlayfs at all?
        if choice.mode == overlaymode.KERNEL:
            raise
        _clear(run)
        rootfs = mounted.enter_context(_mounted(run, lowerdirs, upperdir, choice.mode))
    with mounted:
        yield rootfs


def _clear(run: RunDir) -> None:
    """Remove what a failed mount attempt made in the run directory, for another attempt."""
    for name in ("l", "empty", "u", "w", "rootfs"):
        path = run.path / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()


@contextmanager
def _mounted(run: RunDir, lowerdirs: list[Path], upperdir: Path, mode: str) -> Iterator[Path]:
    workdir = _workdir_for(upperdir, run)
    if mode == overlaymode.COPY:
        from .copymount import copy_mounted

        run.note_workdir(workdir)
        workdir.mkdir()
        try:
            with copy_mounted(run, lowerdirs, upperdir, workdir) as rootfs:
                yield rootfs
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    links = run.path / "l"
    links.mkdir()
    if not lowerdirs:
        # overlayfs needs at least one lower layer; an empty one stands in for scratch.
        empty = run.path / "empty"
        empty.mkdir()
    for index, lower in enumerate(lowerdirs or [run.path / "empty"]):
        os.symlink(os.path.abspath(lower), links / str(index))
    run.note_workdir(workdir)
    workdir.mkdir()
    os.symlink(os.path.abspath(upperdir), run.path / "u")
    os.symlink(os.path.abspath(workdir), run.path / "w")
    rootfs = run.path / "rootfs"
    rootfs.mkdir()
    lower_option = ":".join(f"l/{index}" for index in range(max(len(lowerdirs), 1)))
    try:
        if mode == overlaymode.FUSE:
            with _fuse(run, lower_option, lowerdirs, upperdir):
                yield rootfs
        else:
            _mount_kernel(run, lower_option, len(lowerdirs))
            try:
                yield rootfs
            finally:
                unmount(rootfs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _mount_kernel(run: RunDir, lower_option: str, layers: int) -> None:
    result = subprocess.run(
        overlaymode.kernel_mount_command(lower_option, "u", "w", "rootfs"),
        cwd=run.path,
        capture_output=True,
        text=True,
        close_fds=True,
    )
    if result.returncode != 0:
        raise MountError(f"mounting overlay of {layers} layers failed: {result.stderr.strip()}")


@contextmanager
def _fuse(run: RunDir, lower_option: str, lowerdirs: Sequence[Path], upperdir: Path) -> Iterator[None]:
    from builder.layer.whiteouts import to_kernel_form

    from .fuse import FuseError, fuse_mounted
    from .lowerview import lookup

    mounted = ExitStack()
    try:
        mounted.enter_context(fuse_mounted(run.path, lower_option, upper="u", work="w", target="rootfs"))
    except FuseError as error:
        raise MountError(f"mounting fuse-overlayfs of {len(lowerdirs)} layers failed: {error}") from None
    with mounted:
        yield
    layers = [os.fsencode(os.path.abspath(lower)) for lower in lowerdirs]
    to_kernel_form(
        os.fsencode(upperdir), lambda rel: lookup(layers, rel), overlaymode.layer_form().opaque_xattr
    )


@contextmanager
def overlay(lowerdirs: Sequence[Path], upperdir: Path, *, state_dir: Path) -> Iterator[Path]:
    """Mount an overlay of ``lowerdirs`` (top first, may be empty) and ``upperdir``; yield the merged root.

    For steps that write files without running a container (COPY, ADD). Everything is undone on exit, even
    on an exception or KeyboardInterrupt: the mount, the workdir, the run directory under ``state_dir``.
    If the process dies instead, `cleanup_stale` (same ``state_dir``) removes what is left.
    """
    with sigterm_as_interrupt():
        run = RunDir(state_dir)
        mount = ExitStack()
        try:
            merged = mount.enter_context(mount_overlay(run, lowerdirs, upperdir))
            checkpoint("overlay.mounted")
            yield merged
        finally:
            with signals_deferred():
                try:
                    mount.close()
                finally:
                    run.close()
