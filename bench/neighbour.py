"""A busy neighbour: another process writing 1 GB to the bench's file system while a build is timed.

It is what a shared build machine looks like (another job's output, a log, a download): dirty pages of
someone else that a builder which syncs the whole file system has to wait for. The writer starts right
before the timed build (after the bench's ``sync``), is stopped if still running when the build ends, and its
file is removed then; both are outside the timing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SIZE_MB = 1024


@contextmanager
def writing(directory: Path) -> Iterator[None]:
    """While the block runs, ``dd`` writes ``SIZE_MB`` MiB of zeros to ``directory/neighbour.bin`` (plain
    buffered writes, as most programs do; the kernel's writeback flushes them)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "neighbour.bin"
    cmd = ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={SIZE_MB}", "status=none"]
    writer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        if writer.poll() is None:
            writer.terminate()
        writer.wait()
        target.unlink(missing_ok=True)
