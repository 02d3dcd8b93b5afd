"""`builder.fsops.copy.copy_data`: a file's bytes copied whole, in the kernel or, where the kernel will not
copy between the two files, through a buffer from where the kernel stopped."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from builder.fsops import copy as copy_module


def _source(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "source"
    path.write_bytes(os.urandom(size))
    return path


def _copied(source: Path, tmp_path: Path) -> bytes:
    target = tmp_path / "target"
    with open(source, "rb") as src, open(target, "wb") as dst:
        copy_module.copy_data(src, dst)
    return target.read_bytes()


@pytest.mark.parametrize("size", [0, 1, (3 << 20) + 17])
def test_the_copy_is_the_file(tmp_path: Path, size: int):
    source = _source(tmp_path, size)
    assert _copied(source, tmp_path) == source.read_bytes()


@pytest.mark.parametrize("refusal", [errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP])
def test_a_kernel_refusing_midway_leaves_the_rest_to_the_buffer(tmp_path: Path, monkeypatch, refusal: int):
    source = _source(tmp_path, (5 << 20) + 3)
    real = os.copy_file_range
    calls = []

    def refusing_after_one_chunk(src: int, dst: int, count: int, *args) -> int:
        # fault injection: the first call copies a megabyte, the next is refused as a kernel might
        calls.append(count)
        if len(calls) == 1:
            return real(src, dst, 1 << 20)
        raise OSError(refusal, os.strerror(refusal))

    monkeypatch.setattr(copy_module.os, "copy_file_range", refusing_after_one_chunk)
    assert _copied(source, tmp_path) == source.read_bytes()
    assert len(calls) == 2


def test_another_error_is_raised(tmp_path: Path, monkeypatch):
    source = _source(tmp_path, 10)

    def failing(*args) -> int:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(copy_module.os, "copy_file_range", failing)
    with pytest.raises(OSError) as raised:
        _copied(source, tmp_path)
    assert raised.value.errno == errno.EIO


def test_a_kernel_copy_that_reads_nothing_leaves_the_file_to_the_buffer(tmp_path: Path, monkeypatch):
    # fault injection: a file system whose kernel copy reports end of file at once (procfs, old FUSE)
    source = _source(tmp_path, 4096)
    monkeypatch.setattr(copy_module.os, "copy_file_range", lambda *args: 0)
    assert _copied(source, tmp_path) == source.read_bytes()
