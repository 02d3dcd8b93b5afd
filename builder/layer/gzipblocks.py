"""gzip in independent blocks, deflated by worker threads through ISA-L, stored where deflate cannot shrink.

The stream is cut into blocks of a fixed size (the caller's `write` calls must each be exactly one block,
except the last). Each block is deflated on its own with the previous block's last 32 KiB as dictionary
and ends with a sync flush, as pigz and ISA-L's ``igzip_threaded`` do, so the output depends only on the
input bytes. Blocks of data that does not compress (random or already compressed bytes, common in layers)
are written as deflate's stored blocks instead: copying costs a fraction of what deflating costs, and the
output is even a little smaller. Whether a block is stored is decided from samples of the block itself, so
the choice, too, depends only on the input.
"""

from __future__ import annotations

import io
import queue
import struct
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from isal import isal_zlib

_WINDOW = 32 * 1024
_STORED_MAX = 0xFFFF
#: Samples taken from each block (evenly spaced), and their size: 4 × 16 KiB, under 7% of a 1 MiB block.
_SAMPLES = 4
_SAMPLE = 16 * 1024
#: A block is stored when its samples deflate to more than this share of their size.
_INCOMPRESSIBLE = 0.97
# The gzip header igzip_threaded writes (deflate, no flags, no time, then XFL 0xff and OS 0: its two last
# fields are swapped), kept byte for byte so layers compress to the same blobs as before.
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\xff\x00"


def incompressible(block: bytes) -> bool:
    """Do evenly spaced samples of ``block`` fail to deflate below 97% of their size (ISA-L level 1)?
    Blocks under 64 KiB are never counted as incompressible."""
    if len(block) < _SAMPLE * _SAMPLES:
        return False  # a short last block: deflating it costs little
    step = len(block) // _SAMPLES
    samples = [block[i * step : i * step + _SAMPLE] for i in range(_SAMPLES)]
    size = sum(len(s) for s in samples)
    packed = sum(len(isal_zlib.compress(s, 1, wbits=-15)) for s in samples)
    return packed > size * _INCOMPRESSIBLE


def stored(block: bytes) -> bytes:
    """``block`` as deflate stored blocks (none final), starting and ending on a byte boundary."""
    view = memoryview(block)
    pieces = []
    for start in range(0, len(block), _STORED_MAX):
        chunk = view[start : start + _STORED_MAX]
        pieces.append(struct.pack("<BHH", 0, len(chunk), len(chunk) ^ 0xFFFF))
        pieces.append(chunk)
    return b"".join(pieces)


class GzipBlocksWriter(io.RawIOBase):
    """Writes the gzip stream of the blocks passed to `write` into ``out``; `close` writes the trailer and
    stops the threads, and never closes ``out``.

    ``threads`` workers deflate blocks while one more thread writes finished ones, in order, to ``out``.
    At most ``2 × threads`` blocks are in flight, so memory stays bounded. An error from a worker or from
    ``out`` is raised by the next `write` or by `close`.
    """

    def __init__(self, out: BinaryIO, *, level: int, threads: int) -> None:
        super().__init__()
        self._out = out
        self._level = level
        self._local = threading.local()
        self._previous = b""
        self._crc = 0
        self._size = 0
        self._error: BaseException | None = None
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gzip")
        self._done: queue.Queue[Future | None] = queue.Queue(maxsize=2 * threads)
        out.write(_HEADER)
        self._writer = threading.Thread(target=self._write_out, name="gzip-out", daemon=True)
        self._writer.start()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if self._error is not None:
            raise self._error
        block = bytes(b)
        zdict = self._previous[-_WINDOW:]
        self._previous = block
        self._done.put(self._pool.submit(self._deflate, block, zdict))
        return len(block)

    def _deflate(self, block: bytes, zdict: bytes) -> tuple[bytes, int, int]:
        if incompressible(block):
            return stored(block), isal_zlib.crc32(block), len(block)
        compressor = getattr(self._local, "compressor", None)
        if compressor is None:
            # room for output a little larger than the input, as igzip_threaded makes
            room = len(block) + max(len(block) // 10, 500)
            compressor = isal_zlib._ParallelCompress(buffersize=room, level=self._level)
            self._local.compressor = compressor
        data, crc = compressor.compress_and_crc(block, zdict)
        return data, crc, len(block)

    def _write_out(self) -> None:
        while (future := self._done.get()) is not None:
            if self._error is not None:
                continue  # keep taking blocks so the writing side never blocks on a full queue
            try:
                data, crc, length = future.result()
                self._out.write(data)
                self._crc = isal_zlib.crc32_combine(self._crc, crc, length)
                self._size += length
            except BaseException as error:  # handed to the writing thread
                self._error = error

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._done.put(None)
            self._writer.join()
            self._pool.shutdown()
            if self._error is not None:
                raise self._error
            self._out.write(isal_zlib.compress(b"", wbits=-15))  # the final (empty) block
            self._out.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        finally:
            super().close()
