"""The context stat cache: an unchanged context is not read again, a changed file always is.

Reads are counted with a spy on ``open`` in this process (the digests are computed here, in a thread pool
too, which the spy sees as well). Files must be older than the racy window before their digests are kept,
so tests that expect reuse let the context settle once.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import threading
import time
from pathlib import Path

import pytest

from builder.sources import RACY_MARGIN_NS, StatCache, digest_sources
from tests.cache.conftest import write_context


class OpenSpy:
    """Counts ``open`` calls on paths below ``root``."""

    def __init__(self, monkeypatch, root: Path) -> None:
        self.root = str(root) + "/"
        self.paths: list[str] = []
        self._lock = threading.Lock()
        real = builtins.open

        def spying_open(file, *args, **kwargs):
            if isinstance(file, str | os.PathLike) and os.fspath(file).startswith(self.root):
                with self._lock:
                    self.paths.append(os.fspath(file))
            return real(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", spying_open)

    def take(self) -> list[str]:
        with self._lock:
            taken, self.paths = self.paths, []
        return taken


@contextlib.contextmanager
def saved_after(cache: StatCache):
    """A build's use of its stat cache: passed to every digest, saved when the build ends."""
    try:
        yield cache
    finally:
        cache.save()


def settle() -> None:
    time.sleep(RACY_MARGIN_NS / 1e9 + 0.2)


@pytest.fixture
def big_context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    for d in range(100):
        directory = ctx / "src" / f"d{d:03}"
        directory.mkdir(parents=True)
        for f in range(200):
            (directory / f"f{f:03}.txt").write_text(f"{d}/{f}\n")
    return ctx


def test_an_unchanged_20000_file_context_is_not_read_again(big_context: Path, tmp_path: Path, monkeypatch):
    state = tmp_path / "state"
    spy = OpenSpy(monkeypatch, big_context)
    settle()
    first = digest_sources([("src", big_context / "src")], stat_cache=StatCache(state, big_context))
    assert len(spy.take()) == 20_000
    # a build saves its stat cache at its end; a later build has a new StatCache that loads what was saved.
    with saved_after(StatCache(state, big_context)) as cache_:
        again = digest_sources([("src", big_context / "src")], stat_cache=cache_)
    assert len(spy.take()) == 20_000  # the explicit cache above was never saved: nothing to reuse yet
    assert again == first
    with saved_after(StatCache(state, big_context)) as cache_:
        started = time.monotonic()
        third = digest_sources([("src", big_context / "src")], stat_cache=cache_)
        elapsed = time.monotonic() - started
    assert spy.take() == []
    assert third == first
    print(f"20,000 unchanged files digested from the stat cache in {elapsed:.2f}s")


def test_changed_files_are_read_and_seen(tmp_path: Path, monkeypatch):
    ctx = write_context(
        tmp_path / "ctx", "", {"src/a.txt": "aaaa\n", "src/b.txt": "bbbb\n", "src/c.txt": "c\n"}
    )
    state = tmp_path / "state"
    spy = OpenSpy(monkeypatch, ctx)
    settle()
    with saved_after(StatCache(state, ctx)) as cache_:
        before = digest_sources([("src", ctx / "src")], stat_cache=cache_)
    spy.take()
    a = ctx / "src/a.txt"
    st = os.stat(a)
    a.write_text("AAAA\n")  # same size, and the old mtime put back: only the ctime changed
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.chmod(ctx / "src/b.txt", 0o600)
    with saved_after(StatCache(state, ctx)) as cache_:
        after = digest_sources([("src", ctx / "src")], stat_cache=cache_)
    assert sorted(spy.take()) == [str(a), str(ctx / "src/b.txt")]
    assert after["src/a.txt"] != before["src/a.txt"]
    assert after["src/b.txt"].split(" ")[1] == "600"
    assert after["src/c.txt"] == before["src/c.txt"]


def test_a_file_written_just_now_is_read_again(tmp_path: Path, monkeypatch):
    """Inside the racy window a same-size rewrite could keep every stat field, so no digest is kept yet."""
    ctx = write_context(tmp_path / "ctx", "", {"fresh.txt": "new\n"})
    spy = OpenSpy(monkeypatch, ctx)
    for _ in range(2):
        with saved_after(StatCache(tmp_path / "state", ctx)) as cache_:
            digest_sources([("fresh.txt", ctx / "fresh.txt")], stat_cache=cache_)
    assert len(spy.take()) == 2


def test_damaged_cache_file_is_ignored(tmp_path: Path, monkeypatch):
    ctx = write_context(tmp_path / "ctx", "", {"x.txt": "x\n"})
    settle()
    cache = StatCache(tmp_path / "state", ctx)
    with saved_after(cache) as cache_:
        expected = digest_sources([("x.txt", ctx / "x.txt")], stat_cache=cache_)
    cache.file.write_text('{"format": 1, "root": ')
    spy = OpenSpy(monkeypatch, ctx)
    with saved_after(StatCache(tmp_path / "state", ctx)) as cache_:
        assert digest_sources([("x.txt", ctx / "x.txt")], stat_cache=cache_) == expected
    assert len(spy.take()) == 1


def test_concurrent_saves_keep_a_whole_file_with_both_builds_entries(tmp_path: Path):
    ctx = write_context(tmp_path / "ctx", "", {"a.txt": "a\n", "b.txt": "b\n"})
    settle()
    one, two = StatCache(tmp_path / "state", ctx), StatCache(tmp_path / "state", ctx)
    digest_sources([("a.txt", ctx / "a.txt")], stat_cache=one)
    digest_sources([("b.txt", ctx / "b.txt")], stat_cache=two)
    one.save()
    two.save()
    saved = json.loads(one.file.read_text())
    assert sorted(saved["entries"]) == ["a.txt", "b.txt"]
    assert [p.name for p in one.file.parent.iterdir()] == [one.file.name]  # no temporary file left


def test_a_dead_builds_temporary_file_is_swept(tmp_path: Path):
    ctx = write_context(tmp_path / "ctx", "", {"a.txt": "a\n"})
    state = tmp_path / "state"
    state.mkdir()
    old, recent = state / ".statcache-dead", state / ".statcache-live"
    old.write_text("{")
    recent.write_text("{")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    settle()
    with saved_after(StatCache(state, ctx)) as cache_:
        digest_sources([("a.txt", ctx / "a.txt")], stat_cache=cache_)
    assert not old.exists() and recent.exists()


def test_paths_outside_the_root_are_not_remembered(tmp_path: Path):
    ctx = write_context(tmp_path / "ctx", "", {"in.txt": "in\n"})
    outside = write_context(tmp_path / "other", "", {"out.txt": "out\n"})
    settle()
    cache = StatCache(tmp_path / "state", ctx)
    with saved_after(cache) as cache_:
        digest_sources([("in.txt", ctx / "in.txt"), ("out.txt", outside / "out.txt")], stat_cache=cache_)
    assert sorted(json.loads(cache.file.read_text())["entries"]) == ["in.txt"]


def test_a_real_build_reads_an_unchanged_context_once(pybuild, tmp_path: Path, monkeypatch):
    """Two builds in this process: the second (all cached) reads none of the copied files."""
    from builder.executor import BuildOptions, build

    files = {f"src/f{i}.txt": f"{i}\n" for i in range(50)}
    ctx = write_context(tmp_path / "ctx", "FROM busybox:latest\nCOPY src/ /src/\n", files)
    settle()
    spy = OpenSpy(monkeypatch, ctx / "src")
    options = BuildOptions(context=ctx, root=str(pybuild.root), tags=["statcache:1"])
    first = build(options)
    assert len(spy.take()) >= 50
    assert not first.steps[-1].cached
    second = build(options)
    assert spy.take() == []
    assert second.steps[-1].cached and second.steps[-1].reason == "cached"
    (ctx / "src/f7.txt").write_text("seven\n")
    third = build(options)
    assert not third.steps[-1].cached and third.steps[-1].reason == "COPY: src/f7.txt changed"
    assert (pybuild.root / "state" / "context").is_dir()
