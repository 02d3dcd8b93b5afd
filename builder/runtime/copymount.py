"""The copying overlay mode as a mount: a copied root to run on, its changes left in the upperdir after.

For machines where neither overlayfs nor fuse-overlayfs mounts. The step's root is a real directory in the
run directory (so `cleanup_stale` removes it with the rest after a crash), filled by `copyroot.populate`;
on leaving, `copydiff.write_diff` puts the changes into the upperdir in the kernel overlay's form.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .copydiff import write_diff
from .copyroot import copy_metadata, populate, watermark
from .rundir import RunDir


@contextmanager
def copy_mounted(run: RunDir, lowerdirs: Sequence[Path], upperdir: Path) -> Iterator[Path]:
    """Yield ``run.path / "rootfs"``: a copy of ``upperdir`` over ``lowerdirs`` (top first). On leaving,
    however it is left, ``upperdir`` holds every change made to the copy, as an overlay's upperdir would.

    ``upperdir`` is not written while the block runs (a caller may look at it, as `stubs` does).
    """
    held = any(upperdir.iterdir())
    rootfs = run.path / "rootfs"
    rootfs.mkdir()
    # the root shows the upperdir's own owner, mode and times, as an overlay mount's root does
    upper_st = os.lstat(upperdir)
    copy_metadata(os.fsencode(upperdir), os.fsencode(rootfs), upper_st)
    lowers = [os.fsencode(os.path.abspath(p)) for p in lowerdirs]
    copied = populate(os.fsencode(rootfs), ([os.fsencode(os.path.abspath(upperdir))] if held else []) + lowers)
    os.utime(rootfs, ns=(upper_st.st_atime_ns, upper_st.st_mtime_ns))
    since = watermark(os.fsencode(run.path))
    try:
        yield rootfs
    finally:
        _write_back(run, rootfs, lowers, upperdir, since=since, copied=copied, held=held)


def _write_back(
    run: RunDir, rootfs: Path, lowers: list[bytes], upperdir: Path, *, since: int, copied: set[int], held: bool
) -> None:
    if not held:
        write_diff(os.fsencode(rootfs), lowers, os.fsencode(upperdir), since=since, copied_dirs=copied)
        return
    # What the upperdir held stays in it (an overlay never moves an entry down): the diff is written beside
    # it, knowing the old content, then takes its place.
    fresh = upperdir.parent / f".{upperdir.name}.{run.id}.work"
    run.note_workdir(fresh)
    fresh.mkdir()
    try:
        write_diff(
            os.fsencode(rootfs),
            lowers,
            os.fsencode(fresh),
            since=since,
            copied_dirs=copied,
            old_upper=os.fsencode(upperdir),
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
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
