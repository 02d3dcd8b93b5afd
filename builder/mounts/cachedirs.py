"""Cache-mount directories (``RUN --mount=type=cache``), kept in the store across builds.

Layout, under ``<store>/state/cache-mounts`` (`Store.state_dir`)::

    <h>/id            the cache id as written (h: the first 32 hex digits of its sha256), for people
    <h>/create.lock   flock held while an instance is chosen or made
    <h>/<n>/          instance n of the cache (0 first); present means complete (made aside, then renamed)
    <h>/<n>.lock      flock held by each step using instance n: shared or exclusive, by sharing mode
    <h>/.new-*        an instance being made (a crash may leave one; it is removed by the next creation)

Sharing, as BuildKit's ``sharing=``: ``shared`` steps use instance 0 together (a shared flock);
``locked`` steps use instance 0 one at a time (an exclusive flock, waited for); a ``private`` step takes the
first instance nobody uses, or makes a new one. Locks are flocks, so a build that dies releases them.
Nothing here is part of a layer or a cache key. `clear` removes every instance no step is using; `instances`
and `remove` let ``pybuild prune`` choose.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path


def _lock(path: Path, kind: int) -> int | None:
    """An fd holding flock ``kind`` on ``path`` (created), or None if LOCK_NB was given and it is busy."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, kind)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


@dataclass(frozen=True)
class CacheInstance:
    """One instance of a cache: ``key`` names it for `CacheDirs.remove`; ``last_used`` is a time stamp."""

    key: str
    ident: str
    last_used: float
    size: int


class CacheDirs:
    """The cache-mount directories below ``root``; any number of processes may use them at once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _home(self, ident: str) -> Path:
        home = self.root / hashlib.sha256(ident.encode()).hexdigest()[:32]
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "id").exists():
            (home / "id").write_text(ident)
        return home

    @staticmethod
    def _instances(home: Path) -> list[int]:
        return sorted(int(p.name) for p in home.iterdir() if p.name.isdigit() and p.is_dir())

    @staticmethod
    def _make(home: Path, number: int, init: Callable[[Path], None]) -> None:
        for stale in home.glob(".new-*"):
            shutil.rmtree(stale, ignore_errors=True)
        fresh = Path(tempfile.mkdtemp(prefix=".new-", dir=home))
        try:
            init(fresh)
            os.rename(fresh, home / str(number))
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise

    @contextmanager
    def use(self, ident: str, sharing: str, init: Callable[[Path], None]) -> Iterator[Path]:
        """The directory of cache ``ident`` for the duration of the block, under ``sharing`` (shared, private,
        locked). A new instance is made by ``init(directory)`` (an empty directory to set the owner and mode
        of, or to fill) before anyone sees it."""
        home = self._home(ident)
        while True:
            number, held = self._choose(home, sharing, init)
            if held is None:  # waited for without holding create.lock, so private steps are never held up
                held = _lock(home / f"{number}.lock", fcntl.LOCK_EX if sharing == "locked" else fcntl.LOCK_SH)
            if (home / str(number)).is_dir():
                os.utime(home / f"{number}.lock")  # when it was last used, for `pybuild prune --filter`
                break
            os.close(held)  # cleared meanwhile by `clear`: choose again
        try:
            yield home / str(number)
        finally:
            os.close(held)

    def _choose(self, home: Path, sharing: str, init: Callable[[Path], None]) -> tuple[int, int | None]:
        """The instance to use, made if needed, and its lock if already taken (private steps only)."""
        create = _lock(home / "create.lock", fcntl.LOCK_EX)
        assert create is not None
        try:
            existing = self._instances(home)
            if sharing != "private":
                if 0 not in existing:
                    self._make(home, 0, init)
                return 0, None
            for number in existing:
                held = _lock(home / f"{number}.lock", fcntl.LOCK_EX | fcntl.LOCK_NB)
                if held is not None:
                    return number, held
            number = (existing[-1] + 1) if existing else 0
            self._make(home, number, init)
            return number, _lock(home / f"{number}.lock", fcntl.LOCK_EX)
        finally:
            os.close(create)

    def instances(self) -> list[CacheInstance]:
        """Every instance of every cache, with when a step last used it and the space it takes."""
        found = []
        if not self.root.is_dir():
            return found
        for home in sorted(p for p in self.root.iterdir() if p.is_dir()):
            try:
                ident = (home / "id").read_text()
            except OSError:
                ident = home.name
            for number in self._instances(home):
                try:
                    used = os.stat(home / f"{number}.lock").st_mtime
                except FileNotFoundError:
                    used = os.stat(home / str(number)).st_mtime
                found.append(CacheInstance(f"{home.name}/{number}", ident, used, _size(home / str(number))))
        return found

    def remove(self, key: str) -> bool:
        """Delete instance ``key`` (`CacheInstance.key`) unless a step is using it; True if it went."""
        name, _, number = key.partition("/")
        home = self.root / name
        if not number.isdigit() or not (home / number).is_dir():
            return False
        create = _lock(home / "create.lock", fcntl.LOCK_EX)
        assert create is not None
        try:
            held = _lock(home / f"{number}.lock", fcntl.LOCK_EX | fcntl.LOCK_NB)
            if held is None:
                return False
            try:
                doomed = home / f".new-clear-{number}"
                os.rename(home / number, doomed)
                shutil.rmtree(doomed)
            finally:
                os.close(held)
        finally:
            os.close(create)
        return True

    def clear(self) -> tuple[int, int]:
        """Remove every instance no step is using; returns (instances removed, bytes freed)."""
        removed = freed = 0
        for instance in self.instances():
            if self.remove(instance.key):
                removed += 1
                freed += instance.size
        return removed, freed


def _size(path: Path) -> int:
    total = 0
    for directory, _dirs, files in os.walk(path):
        for name in files:
            with suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
    return total


def clear_cache_mounts(store) -> tuple[int, int]:
    """``pybuild prune``'s part: remove the store's cache-mount directories that no running step uses;
    returns (instances removed, bytes freed)."""
    return CacheDirs(store.state_dir("cache-mounts")).clear()
