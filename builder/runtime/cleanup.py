"""Removing what a killed pybuild left behind: containers, mounts, overlay workdirs, run directories."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .rundir import PRIVATE_NOTE, RUNS, noted, owner_of, remove_run_dir, runc_root

# A run directory still being set up has no owner record for a moment; only much older ones are leftovers.
_SETUP_GRACE_SECONDS = 60


def _runc_containers(state_dir: Path) -> list[str]:
    # runc keeps one directory per container under its root: none there, no container to ask runc about
    # (this runs at the start of every build; a fully cached one need not start runc at all)
    try:
        with os.scandir(runc_root(state_dir)) as entries:
            if next(entries, None) is None:
                return []
    except (FileNotFoundError, NotADirectoryError):
        return []
    import subprocess

    from .runc import runc_command

    result = subprocess.run(
        runc_command(state_dir, "list", "--quiet"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        close_fds=True,
    )
    return result.stdout.split() if result.returncode == 0 else []


def _delete_container(state_dir: Path, container_id: str) -> None:
    from .runc import delete_container  # the runc driver is loaded only when there is something to delete

    delete_container(state_dir, container_id)


def _clean_run_dir(state_dir: Path, path: Path) -> None:
    _delete_container(state_dir, path.name)
    private = noted(path, PRIVATE_NOTE)
    if private is not None and (private / "runtime").is_dir():
        # a step with env secrets keeps its runtime state (container, overlay) in its private directory
        cleanup_stale(private / "runtime")
    remove_run_dir(path)


def cleanup_stale(state_dir: Path) -> list[str]:
    """Undo what dead processes left under ``state_dir``; return the ids of the run directories removed.

    Safe while other builds use the same ``state_dir``: a run directory whose owner process is alive is
    skipped, as is its container. Liveness is the owner's, looked up by pid and start time (`liveness`), so
    nothing a step can open or lock changes it. Idempotent; cheap when there is nothing to do.
    """
    state_dir = Path(os.path.abspath(state_dir))
    runs = state_dir / RUNS
    removed: list[str] = []
    live: set[str] = set()
    entries = sorted(runs.iterdir()) if runs.is_dir() else []
    for path in entries:
        name = path.name.removeprefix(".new-")
        if _in_use(path):
            live.add(name)
            continue
        _clean_run_dir(state_dir, path)
        removed.append(name)
    # Containers whose run directory is already gone (the process died while deleting it). The listing
    # above is older than runc's: a concurrent build may have created a run directory and started its
    # container since, so each container's directory is looked at again before the container is deleted.
    for container_id in _runc_containers(state_dir):
        if container_id in live or container_id in removed or _in_use(runs / container_id):
            continue
        _delete_container(state_dir, container_id)
    return removed


def _in_use(path: Path) -> bool:
    """Whether run directory ``path`` exists and its owner is alive, or it is too young to have an owner
    record yet."""
    owner = owner_of(path)
    if owner is not None:
        return owner.alive()
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age < _SETUP_GRACE_SECONDS
