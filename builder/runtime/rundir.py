"""Per-container state directories: ``<state_dir>/runs/<id>``, each with a record of the process owning it.

A run directory holds everything one container or overlay mount needs on the host side: the short lowerdir
links, the rootfs mountpoint, the bundle's ``config.json``, the generated ``hosts`` and ``resolv.conf``, and a
note of the overlay workdir created beside the upperdir. Its ``owner`` file names the process that made it
(see `liveness`), written before the directory gets its final name; `cleanup_stale` removes a directory
whose owner has died, however it died, and leaves those of concurrent live builds alone. Nothing in the
directory is locked: a lock could be taken and held by whoever can open the file, a step included.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from .liveness import Owner, read_owner, write_owner
from .mounts import mountpoints_under, unmount

RUNS = "runs"
OWNER = "owner"
WORKDIR_NOTE = "workdir"
PRIVATE_NOTE = "private"


def runc_root(state_dir: Path) -> Path:
    """runc's ``--root``: our own, so the host's /run/runc containers are never touched."""
    return state_dir / "runc"


class RunDir:
    """A fresh run directory owned by this process. `close` removes it (after the caller has undone its
    mounts)."""

    def __init__(self, state_dir: Path) -> None:
        self.id = "pybuild-" + secrets.token_hex(8)
        runs = state_dir / RUNS
        runs.mkdir(parents=True, exist_ok=True)
        staging = runs / f".new-{self.id}"
        staging.mkdir(mode=0o700)
        # Owned before the directory gets its final name, so cleanup never sees it without an owner.
        write_owner(staging / OWNER)
        self.path = runs / self.id
        os.rename(staging, self.path)
        self._open = True

    def note_workdir(self, workdir: Path) -> None:
        """Record an overlay workdir living outside the run directory, for cleanup after a crash."""
        (self.path / WORKDIR_NOTE).write_text(str(workdir))

    def note_private(self, private: Path) -> None:
        """Record a private directory (a step's tmpfs for secrets, and the runtime state kept there) living
        outside the run directory, so that cleanup after a crash unmounts and removes it."""
        (self.path / PRIVATE_NOTE).write_text(str(private))

    def close(self) -> None:
        """Remove the directory; idempotent. Mounts inside must already be undone."""
        if not self._open:
            return
        remove_run_dir(self.path)
        self._open = False


def remove_run_dir(path: Path) -> None:
    """Delete a run directory and the overlay workdir and private directory it notes (all may be partly
    gone already; mounts on a noted directory are undone first).

    Whatever is still mounted inside is unmounted first (lazily if busy): deleting through a live overlay
    would wipe the upperdir. A fuse-overlayfs left running for it is ended (its mount may be in a namespace
    of a dead rootless pybuild, out of this process's sight). Raises OSError, deleting nothing, if a mount
    cannot be undone.
    """
    for point in mountpoints_under(path):
        unmount(point)
    if (path / "fuse.pid").exists():
        from .fuse import kill_leftover  # a fuse-overlayfs outliving its pybuild, its mount out of sight

        kill_leftover(path)
    for outside in (noted(path, WORKDIR_NOTE), noted(path, PRIVATE_NOTE)):
        if outside is not None:
            for point in mountpoints_under(outside):
                unmount(point)
            shutil.rmtree(outside, ignore_errors=True)
    shutil.rmtree(path, ignore_errors=True)


def noted(path: Path, note: str) -> Path | None:
    """The directory that run directory ``path`` notes as ``note`` (`WORKDIR_NOTE`, `PRIVATE_NOTE`), if any."""
    try:
        return Path((path / note).read_text())
    except OSError:
        return None


def owner_of(path: Path) -> Owner | None:
    """The process recorded as owning run directory ``path``; None if none is recorded (yet)."""
    return read_owner(path / OWNER)
