"""The block-wise gzip writer: standard gzip out, stored blocks for data that does not compress, the same bytes
whatever the thread count, and the same bytes as ISA-L's own threaded writer where data compresses."""

from __future__ import annotations

import errno
import io
import random
import subprocess

import pytest
from isal import igzip_threaded

from builder.layer.compress import _FixedBlocks, open_compressed_writer
from builder.layer.gzipblocks import GzipBlocksWriter

MiB = 1 << 20
TEXT = b"".join(b"line %d of a log that compresses well\n" % i for i in range(120_000))  # ~4.5 MiB
NOISE = random.Random(3).randbytes(3 * MiB + 12345)


def _gzip(data: bytes, threads: int = 2, piece: int = 100_000) -> bytes:
    out = io.BytesIO()
    writer = _FixedBlocks(GzipBlocksWriter(out, level=2, threads=threads))
    for start in range(0, len(data), piece):
        writer.write(data[start : start + piece])
    writer.close()
    return out.getvalue()


@pytest.mark.parametrize("data", [b"", b"tiny", TEXT, NOISE, TEXT[:MiB] + NOISE + TEXT[:MiB]], ids=len)
def test_gzip_reads_it_back_and_threads_do_not_change_it(data):
    blob = _gzip(data)
    assert subprocess.run(["gzip", "-dc"], input=blob, capture_output=True, check=True).stdout == data
    assert _gzip(data, threads=1, piece=7) == blob == _gzip(data, threads=4, piece=MiB + 1)


def test_incompressible_data_is_stored_not_deflated():
    blob = _gzip(NOISE)
    # deflate makes random data ~0.04% larger; stored blocks cost 5 bytes per 64 KiB (under 0.01%)
    assert len(blob) - len(NOISE) < len(NOISE) // 10_000
    assert NOISE[1000:1100] in blob  # stored data appears as it is


def test_compressible_data_gives_the_blobs_isal_gave_before():
    out = io.BytesIO()
    old = _FixedBlocks(igzip_threaded.open(out, "wb", compresslevel=2, threads=2, block_size=MiB))
    old.write(TEXT)
    old.close()
    new = io.BytesIO()
    with open_compressed_writer(new, "gzip") as writer:
        writer.write(TEXT)
    assert new.getvalue() == out.getvalue()


class _Full(io.RawIOBase):
    """Fault injection: an output that runs out of space after ``room`` bytes."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.room -= len(b)
        if self.room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return len(b)


def test_an_output_error_reaches_the_writer_and_the_threads_stop():
    writer = GzipBlocksWriter(_Full(2 * MiB), level=2, threads=2)
    data = NOISE * 4
    with pytest.raises(OSError) as raised:
        try:
            for start in range(0, len(data), MiB):
                writer.write(data[start : start + MiB])
        finally:
            writer.close()
    assert raised.value.errno == errno.ENOSPC
    writer.close()  # closing again is harmless
    assert not writer._writer.is_alive()
