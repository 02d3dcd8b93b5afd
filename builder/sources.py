"""Content digests of COPY/ADD sources, for cache keys: what a copy would write, never when it was touched.

Each entry below a selected source contributes its relative path, type, permission bits, owner (where the
copy keeps it; ``-`` where the layer gets another: a context file is written root-owned or ``--chown``ed),
and its content digest (files) or link target (symlinks). Modification times are left out on purpose:
touching a file must not invalidate the cache, changing its content, mode or kept owner must.

File contents are read at most once per change: a `StatCache` remembers each context file's digest by path,
inode, size, mtime_ns and ctime_ns, persisted between builds, so an unchanged context of tens of thousands of
files costs one ``lstat`` per file. Files that do need hashing are read in a thread pool (hashlib releases the
GIL while it digests).

A read can be stopped (``stopped``: the build was cancelled): the walk and the hashing look at it between
entries and between chunks of a file and raise `DigestStopped`, so a cancelled build does not wait for a
large tree to be read to its end.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

#: A digest is remembered only for a file whose last change (ctime) lies this far before it was read, so a
#: write in the same timestamp tick as the read (which leaves size and times unchanged) is never missed.
RACY_MARGIN_NS = 1_000_000_000

#: Fewer files than this to hash are read in the calling thread.
_POOL_THRESHOLD = 8
_CHUNK = 1 << 20
_FORMAT = 1
#: The walk looks at ``stopped`` once every this many entries.
_STOP_EVERY = 256


class DigestStopped(Exception):
    """The read of sources was stopped (the build was cancelled); nothing was remembered of it."""


def _check(stopped: Callable[[], bool] | None) -> None:
    if stopped is not None and stopped():
        raise DigestStopped("reading the sources was stopped: the build was cancelled")


def file_digest(path: str | os.PathLike, stopped: Callable[[], bool] | None = None) -> str:
    """The hex sha256 of a file's content; `DigestStopped` if ``stopped`` says so between chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            _check(stopped)
            digest.update(chunk)
    return digest.hexdigest()


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class StatCache:
    """Remembered content digests of the files below ``root``, kept in one JSON file in ``directory``.

    A remembered digest is used only while the file's path, inode, size, mtime_ns and ctime_ns are all the
    same, so any write, replacement, chmod or chown makes it be read again. `save` writes a temporary file and
    renames it over the old one (merging what a concurrent build saved meanwhile), so concurrent builds
    sharing ``directory`` never see a torn file; at worst one build's new entries are lost, which costs a
    re-read, never a wrong digest. `hash` may be called from several threads at once; `lookup` and `save`
    from one.
    """

    def __init__(self, directory: Path, root: Path, *, margin_ns: int = RACY_MARGIN_NS) -> None:
        self.root = os.path.abspath(root)
        name = hashlib.sha256(self.root.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        self.file = Path(directory) / f"{name}.json"
        self.margin_ns = margin_ns
        self._entries: dict[str, list] | None = None
        self._new: dict[str, list] = {}
        self._lock = threading.Lock()
        self.reads = 0  # files read (for progress and for tests of the cache itself)

    def covers(self, path: str) -> bool:
        """True if ``path`` (absolute) lies below the cache's root."""
        return path == self.root or path.startswith(self.root.rstrip("/") + "/")

    def _load(self) -> dict[str, list]:
        try:
            data = json.loads(self.file.read_bytes())
        except (OSError, ValueError):
            return {}  # missing or damaged: start afresh, the cache only saves work
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("root") != self.root:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def _relative(self, path: str) -> str:
        # callers hold normalised absolute paths below the root (`covers`): slicing gives what relpath
        # would, without normalising both paths again for each of 20,000 files (~75 ms of a cached build)
        if path == self.root:
            return "."
        return path[len(self.root.rstrip("/")) + 1 :]

    def lookup(self, path: str, st: os.stat_result) -> str | None:
        """The remembered digest of ``path`` if it is unchanged since, else None."""
        if self._entries is None:
            self._entries = self._load()
        entry = self._entries.get(self._relative(path))
        if isinstance(entry, list) and len(entry) == 5 and entry[:4] == _stat_key(st):
            return entry[4]
        return None

    def hash(self, path: str, st: os.stat_result, stopped: Callable[[], bool] | None = None) -> str:
        """Read ``path`` (whose ``lstat``/``stat`` was ``st``) and remember its digest when that is safe;
        `DigestStopped` if ``stopped`` says so between chunks."""
        started = time.time_ns()
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                _check(stopped)
                digest.update(chunk)
            after = os.fstat(handle.fileno())
        hexdigest = digest.hexdigest()
        settled = max(st.st_mtime_ns, st.st_ctime_ns) < started - self.margin_ns
        with self._lock:
            self.reads += 1
            if settled and _stat_key(after) == _stat_key(st):
                self._new[self._relative(path)] = [*_stat_key(st), hexdigest]
        return hexdigest

    def save(self, scratch: Path | None = None) -> None:
        """Persist the digests learnt since loading (no-op if none). Entries whose file is gone or changed are
        dropped. ``scratch`` is a directory on the same file system for the temporary file (default: beside
        the cache file)."""
        if not self._new:
            return
        merged = self._load()
        merged.update(self._new)
        kept: dict[str, list] = {}
        for rel, entry in merged.items():
            try:
                st = os.lstat(os.path.join(self.root, rel))
            except OSError:
                continue
            if isinstance(entry, list) and len(entry) == 5 and entry[:4] == _stat_key(st):
                kept[rel] = entry
        body = json.dumps({"format": _FORMAT, "root": self.root, "entries": kept}, separators=(",", ":"))
        self.file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=scratch or self.file.parent, prefix=".statcache-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(body)
            os.replace(tmp, self.file)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise
        self._entries = kept
        self._new = {}
        self._sweep_temporaries()

    def _sweep_temporaries(self, older_than: float = 3600.0) -> None:
        """Remove temporary files a build that died while saving left behind (an hour old: never a live one)."""
        limit = time.time() - older_than
        with os.scandir(self.file.parent) as listing:
            for entry in listing:
                if entry.name.startswith(".statcache-"):
                    with suppress(OSError):
                        if entry.stat(follow_symlinks=False).st_mtime < limit:
                            os.unlink(entry.path)


def _describe(path: str, st: os.stat_result, content: str = "", owners: bool = True) -> str:
    mode = stat.S_IMODE(st.st_mode)
    owner = f"{st.st_uid}:{st.st_gid}" if owners else "-"
    if stat.S_ISDIR(st.st_mode):
        return f"dir {mode:o} {owner}"
    if stat.S_ISLNK(st.st_mode):
        return f"link {owner} {os.readlink(path)}"
    if stat.S_ISREG(st.st_mode):
        return f"file {mode:o} {owner} {content}"
    if stat.S_ISFIFO(st.st_mode):  # copied as a FIFO, so its mode and owner count
        return f"fifo {mode:o} {owner}"
    return f"other {stat.S_IFMT(st.st_mode):o}"


def _walk(
    rel: str,
    path: str,
    follow: bool,
    excluded: Callable[[str], bool] | None,
    stopped: Callable[[], bool] | None = None,
) -> list[tuple[str, str, os.stat_result]]:
    """``(rel, path, lstat)`` of ``path`` and everything below it not ``excluded``, a directory before its
    entries, each directory's names sorted."""
    st = os.stat(path) if follow else os.lstat(path)
    walked = [(rel or ".", path, st)]
    if stat.S_ISDIR(st.st_mode):
        _walk_below(rel, path, excluded, walked, stopped)
    return walked


def _walk_below(
    rel: str,
    path: str,
    excluded: Callable[[str], bool] | None,
    walked: list[tuple[str, str, os.stat_result]],
    stopped: Callable[[], bool] | None = None,
) -> None:
    # One list for the whole walk and the lstat from the listing's own entry: a context of tens of
    # thousands of files is walked on every build, cached or not. A stack of listings, not recursion: a
    # context may nest directories thousands deep.
    stack = [(rel, _sorted_entries(path))]
    while stack:
        parent_rel, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        child_rel = f"{parent_rel}/{entry.name}" if parent_rel else entry.name
        if excluded and excluded(child_rel):
            continue
        st = entry.stat(follow_symlinks=False)
        walked.append((child_rel, entry.path, st))
        if len(walked) % _STOP_EVERY == 0:
            _check(stopped)
        if stat.S_ISDIR(st.st_mode):
            stack.append((child_rel, _sorted_entries(entry.path)))


def _sorted_entries(path: str) -> Iterator[os.DirEntry[str]]:
    with os.scandir(path) as listing:
        return iter(sorted(listing, key=lambda entry: entry.name))


def _hash_all(
    todo: list[tuple[str, os.stat_result]], cache: StatCache | None, stopped: Callable[[], bool] | None
) -> list[str]:
    def one(item: tuple[str, os.stat_result]) -> str:
        path, st = item
        _check(stopped)
        if cache is not None and cache.covers(path):
            return cache.hash(path, st, stopped)
        return file_digest(path, stopped)

    if len(todo) < _POOL_THRESHOLD:
        return [one(item) for item in todo]
    from concurrent.futures import ThreadPoolExecutor  # with logging, ~5 ms: only when there is much to read

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(one, todo))


def digest_sources(
    sources: list[tuple[str, Path]],
    *,
    excluded: Callable[[str], bool] | None = None,
    stat_cache: StatCache | None = None,
    owners: bool = True,
    stopped: Callable[[], bool] | None = None,
) -> dict[str, str]:
    """``{relative path: description}`` for every entry a copy of ``sources`` reads (a source symlink is
    followed, as the copy follows it). ``owners`` False leaves the owners out (``-``): for a copy that does
    not keep them, a ``chown`` of a source changes nothing the layer holds.

    File contents below ``stat_cache``'s root are taken from it when unchanged; everything else is read, in
    a thread pool when there is much to read. Raises `DigestStopped` once ``stopped`` returns True.
    """
    cache = stat_cache
    walked: list[tuple[str, str, os.stat_result]] = []
    for rel, path in sources:
        walked.extend(_walk(rel, os.path.abspath(path), True, excluded, stopped))
    known: dict[str, str] = {}
    todo: list[tuple[str, os.stat_result]] = []
    for _rel, path, st in walked:
        if not stat.S_ISREG(st.st_mode) or path in known:
            continue
        remembered = cache.lookup(path, st) if cache is not None and cache.covers(path) else None
        if remembered is not None:
            known[path] = remembered
        else:
            known[path] = ""
            todo.append((path, st))
    for (path, _st), digest in zip(todo, _hash_all(todo, cache, stopped), strict=True):
        known[path] = digest
    return {rel: _describe(path, st, known.get(path, ""), owners) for rel, path, st in walked}


def tree_digest(
    path: Path,
    *,
    excluded: Callable[[str], bool] | None = None,
    stat_cache: StatCache | None = None,
    stopped: Callable[[], bool] | None = None,
) -> str:
    """One ``sha256:…`` for everything at and below ``path`` as `digest_sources` describes it (paths, types,
    modes, owners, contents or link targets): the identity of a mount source or a named context directory."""
    described = digest_sources([("", path)], excluded=excluded, stat_cache=stat_cache, stopped=stopped)
    return "sha256:" + hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()
