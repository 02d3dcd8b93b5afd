"""Reading sources for a key stops when the build is cancelled (`builder.sources`, ``stopped``): between
entries of the walk and between chunks of a file, with `DigestStopped`, so a cancelled build does not wait
for a large tree to be read to its end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builder.sources import DigestStopped, StatCache, digest_sources, file_digest, tree_digest


class StopAfter:
    """``stopped`` for the read: False for the first ``calls`` questions, then True; counts them."""

    def __init__(self, calls: int) -> None:
        self.calls = calls
        self.asked = 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.asked > self.calls


def _many_files(root: Path, count: int) -> Path:
    for index in range(count):
        directory = root / f"d{index // 100:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"f{index}").write_text(str(index))
    return root


def test_a_read_never_stopped_is_the_read_without_a_stop(tmp_path: Path):
    tree = _many_files(tmp_path / "tree", 600)
    assert digest_sources([("", tree)], stopped=lambda: False) == digest_sources([("", tree)])


def test_a_stopped_walk_raises_without_reading_the_rest(tmp_path: Path):
    tree = _many_files(tmp_path / "tree", 2000)
    stop = StopAfter(1)
    with pytest.raises(DigestStopped):
        digest_sources([("", tree)], stopped=stop)
    assert stop.asked < 20, "the walk went on long after it was told to stop"


def test_a_stopped_file_hash_raises_between_chunks(tmp_path: Path):
    big = tmp_path / "big"
    big.write_bytes(os.urandom(5 << 20))
    stop = StopAfter(2)
    with pytest.raises(DigestStopped):
        file_digest(big, stop)
    assert stop.asked == 3
    cache = StatCache(tmp_path / "cache", tmp_path)
    with pytest.raises(DigestStopped):
        cache.hash(str(big), os.stat(big), StopAfter(0))
    assert cache.reads == 0


def test_tree_digest_passes_the_stop_on(tmp_path: Path):
    tree = _many_files(tmp_path / "tree", 10)
    with pytest.raises(DigestStopped):
        tree_digest(tree, stopped=lambda: True)
