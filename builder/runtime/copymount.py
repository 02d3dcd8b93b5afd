"""The copying overlay mode as a mount: a copied root to run on, its changes left in the upperdir after.

For machines where neither overlayfs nor fuse-overlayfs mounts. The copy is made by `copyroot.populate` in
the directory beside the upperdir where an overlay's workdir would be (on the store's file system, never in
memory, and noted in the run directory so `cleanup_stale` removes it after a crash), and bind-mounted on the
run directory's ``rootfs`` (so the run directory's own file system, which may be a small noexec tmpfs, does
not matter). On leaving, `copydiff.write_diff` moves the changes into the upperdir in the kernel overlay's
form.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .copydiff import write_diff
from .copyroot import copy_metadata, populate, watermark
from .mounts import unmount
from .overlaymode import layer_form
from .rundir import RunDir

_MS_BIND = 4096


class CopyMountError(OSError):
    """The copied root could not be bind-mounted."""


@contextmanager
def copy_mounted(run: RunDir, lowerdirs: Sequence[Path], upperdir: Path, work: Path) -> Iterator[Path]:
    """Yield ``run.path / "rootfs"``: a copy of ``upperdir`` over ``lowerdirs`` (top first), made in the new
    directory ``work`` (beside ``upperdir``, already noted in ``run``; the caller removes it). On leaving,
    however it is left, ``upperdir`` holds every change made to the copy, as an overlay's upperdir would.

    ``upperdir`` is not written while the block runs (a caller may look at it, as `stubs` does).
    """
    held = any(upperdir.iterdir())
    copy = work / "root"
    copy.mkdir()
    # the root shows the upperdir's own owner, mode and times, as an overlay mount's root does
    upper_st = os.lstat(upperdir)
    copy_metadata(os.fsencode(upperdir), os.fsencode(copy), upper_st)
    lowers = [os.fsencode(os.path.abspath(p)) for p in lowerdirs]
    copied = populate(os.fsencode(copy), ([os.fsencode(os.path.abspath(upperdir))] if held else []) + lowers)
    os.utime(copy, ns=(upper_st.st_atime_ns, upper_st.st_mtime_ns))
    since = watermark(os.fsencode(work))
    rootfs = run.path / "rootfs"
    rootfs.mkdir()
    _bind(copy, rootfs)
    try:
        yield rootfs
    finally:
        unmount(rootfs)
        _write_back(work, copy, lowers, upperdir, since=since, copied=copied, held=held)


def _bind(source: Path, target: Path) -> None:
    from builder.libc import last_errno, libc

    if libc().mount(os.fsencode(source), os.fsencode(target), None, _MS_BIND, None) != 0:
        err = last_errno()
        raise CopyMountError(err, f"bind-mounting the copied root: {os.strerror(err)}", str(target))


def _write_back(
    work: Path, copy: Path, lowers: list[bytes], upperdir: Path, *, since: int, copied: set[int], held: bool
) -> None:
    xattr = layer_form().opaque_xattr
    if not held:
        write_diff(
            os.fsencode(copy),
            lowers,
            os.fsencode(upperdir),
            since=since,
            copied_dirs=copied,
            opaque_xattr=xattr,
        )
        return
    # What the upperdir held stays in it (an overlay never moves an entry down): the diff is written beside
    # it, knowing the old content, then takes its place.
    fresh = work / "upper"
    fresh.mkdir()
    write_diff(
        os.fsencode(copy),
        lowers,
        os.fsencode(fresh),
        since=since,
        copied_dirs=copied,
        old_upper=os.fsencode(upperdir),
        opaque_xattr=xattr,
    )
    with os.scandir(upperdir) as it:
        for entry in list(it):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
    for name in os.listdir(fresh):
        os.rename(fresh / name, upperdir / name)
    copy_metadata(os.fsencode(fresh), os.fsencode(upperdir), os.lstat(fresh))
