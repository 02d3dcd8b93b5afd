"""Cross-process locks (flock on files under ``<root>/locks``) and per-process scratch sessions.

A *session* is a directory ``<root>/tmp/s-XXXX`` that one process writes its temporary files and staging
directories into. The process holds an exclusive flock on the directory for as long as it lives; the kernel
drops that lock when the process dies, however it dies. That is how a later `Store.open` tells a crashed
process's leftovers (session unlocked) from a live concurrent process's work in progress (session locked).

Sessions are created under the store-wide lock held shared and swept under it held exclusive, so a sweep
never sees a session that exists but is not locked yet.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from builder.store import fsutil
from builder.store.errors import StoreError
from builder.store.fsutil import remove_tree

_LOCK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
#: The lock that guards session creation (shared) against the recovery sweep (exclusive).
GLOBAL_LOCK = "store"
#: Names the store makes directly under ``tmp/``: sessions, sessions being deleted, and temp files.
SESSION_PREFIX = "s-"
DEAD_PREFIX = "dead-"
TEMP_PREFIX = fsutil.TEMP_PREFIX


class LockBusy(StoreError):
    """A non-blocking lock request found the lock held by someone else."""


@contextmanager
def file_lock(locks_dir: Path, name: str, *, shared: bool = False, blocking: bool = True) -> Iterator[None]:
    """Hold an flock on ``locks_dir/name`` for the duration of the ``with`` block.

    Exclusive by default; ``shared=True`` allows other shared holders. Locks are per open file, so two
    acquisitions of the same name block each other even inside one process: the lock is NOT reentrant and
    nesting the same name in one thread deadlocks. Lock files are never deleted (deleting one would let two
    holders lock different inodes under the same name).
    """
    if not isinstance(name, str) or _LOCK_NAME.fullmatch(name) is None:
        raise StoreError(f"invalid lock name {name!r}: use letters, digits, '.', '_' and '-'")
    fd = os.open(locks_dir / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        flags = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        if not blocking:
            flags |= fcntl.LOCK_NB
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            raise LockBusy(f"store lock {name!r} is held by another process") from None
        yield
    finally:
        os.close(fd)  # closing the last descriptor of the open file releases the flock


class Session:
    """A scratch directory owned by this process; see the module docstring.

    ``close()`` removes the directory and releases the lock; it is a no-op in a forked child, which must
    never delete its parent's session (a child gets its own session the first time it needs one).
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.pid = os.getpid()
        self._fd: int | None = fd

    @classmethod
    def create(cls, tmp_dir: Path, locks_dir: Path) -> Session:
        """Make and lock a fresh session directory in ``tmp_dir``."""
        with file_lock(locks_dir, GLOBAL_LOCK, shared=True):
            path = Path(tempfile.mkdtemp(dir=tmp_dir, prefix=SESSION_PREFIX))
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return cls(path, fd)

    @property
    def alive(self) -> bool:
        """True in the process that created the session while it is open."""
        return self._fd is not None and self.pid == os.getpid()

    def close(self) -> None:
        if self._fd is None or self.pid != os.getpid():
            return
        remove_tree(self.path)
        os.close(self._fd)
        self._fd = None


def mark_dead(tmp_dir: Path) -> list[str]:
    """Rename each dead session in ``tmp_dir`` to ``dead-…`` and unlink stray temp files; returns the names.

    The caller holds the exclusive `GLOBAL_LOCK`, so no session is half-created. A session whose flock can
    be taken belongs to a process that is gone; a locked one belongs to a live process and is left alone.
    Only names the store itself makes are touched: other code keeping state under ``tmp/`` (the runtime's
    run directories, say) recovers its own.
    """
    removed: list[str] = []
    for entry in os.scandir(tmp_dir):
        if entry.is_dir(follow_symlinks=False):
            if entry.name.startswith(SESSION_PREFIX) and not _owner_alive(entry.path):
                os.rename(entry.path, tmp_dir / f"{DEAD_PREFIX}{secrets.token_hex(8)}")
                removed.append(entry.name)
        elif entry.name.startswith(TEMP_PREFIX):
            os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def remove_dead(tmp_dir: Path) -> None:
    """Delete the ``dead-…`` directories in ``tmp_dir``. Needs no lock: nobody uses them any more, and a
    deleter that dies half-way leaves names the next one finishes."""
    for entry in os.scandir(tmp_dir):
        if entry.name.startswith(DEAD_PREFIX):
            remove_tree(Path(entry.path))


def _owner_alive(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
