"""ADD of a damaged archive (truncated, or with bytes flipped after a valid first header) fails with a
located error naming the source, and never with a Python traceback. BuildKit v0.13 fails likewise for the
truncated tar, gzip and xz archives ("unexpected EOF", "unpigz: … incomplete deflate data", "xz: … Unexpected
end of input"), but copies the truncated zstd archive as a file and writes the flipped gzip archive's damaged
member without noticing (checked with these files); pybuild refuses all of them (README)."""

from __future__ import annotations

import errno
import gzip
import io
import lzma
import random
import subprocess
import tarfile
from pathlib import Path

import pytest
import zstandard

from tests.build.conftest import write_context


def _tar(size: int = 300_000) -> bytes:
    data = random.Random(7).randbytes(size)  # incompressible, so a cut lands inside the member
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("big.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _flipped(blob: bytes) -> bytes:
    middle = bytearray(blob)
    for i in range(len(middle) // 2, len(middle) // 2 + 64):
        middle[i] ^= 0xFF
    return bytes(middle)


DAMAGED = {
    "truncated.tar": lambda: _tar()[:100_000],
    "truncated.tgz": lambda: gzip.compress(_tar(), mtime=0)[:100_000],
    "truncated.txz": lambda: lzma.compress(_tar())[:100_000],
    "truncated.tzst": lambda: zstandard.ZstdCompressor().compress(_tar())[:100_000],
    "flipped.tgz": lambda: _flipped(gzip.compress(_tar(), mtime=0)),
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_a_damaged_archive_is_a_located_error(pybuild, tmp_path: Path, name: str):
    context = write_context(tmp_path / "ctx", f"FROM busybox:latest\nADD {name} /x/\n")
    (context / name).write_bytes(DAMAGED[name]())
    built = pybuild("-t", "bad:1", str(context), check=False)
    assert built.returncode == 1, built.err
    assert "Traceback" not in built.err
    assert f"Buildfile:2:1: error: ADD {name}: corrupt archive: " in built.err


@pytest.mark.root  # mounts a small tmpfs
def test_a_full_disk_while_unpacking_is_not_called_corrupt(tmp_path: Path):
    """A write that fails while unpacking is the machine's failure, not the archive's: it stays an OSError
    (the executor names the step and the error), so the user is not told to fix a sound archive."""
    from builder.fsops.add import extract_if_archive
    from builder.fsops.copy import Placement, SourceTree

    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.tgz").write_bytes(gzip.compress(_tar(), mtime=0))
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(root)], check=True)
    try:
        with pytest.raises(OSError) as caught:
            extract_if_archive(root, SourceTree(src), "ok.tgz", "/x", Placement())
    finally:
        subprocess.run(["umount", str(root)], check=True)
    assert caught.value.errno == errno.ENOSPC
