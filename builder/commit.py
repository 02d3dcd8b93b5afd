"""Turning a step's upperdir into a layer of the store: blob, unpacked layer, and record.

The upperdir is streamed once through ``write_layer`` (tar → diff_id, compression → blob digest) into a blob
writer, then moved — not copied — into the store as the unpacked layer named by its diff_id.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

from builder.errors import BuildError
from builder.faults import checkpoint
from builder.oci import media
from builder.oci.manifest import descriptor


class CountingWriter:
    """A write-through wrapper that reports how many bytes passed (for a progress bar)."""

    def __init__(self, target, advance: Callable[[int], None]) -> None:
        self._target = target
        self._advance = advance

    def write(self, data) -> int:
        written = self._target.write(data)
        self._advance(len(data))
        return written

    def __getattr__(self, name: str):
        return getattr(self._target, name)


def commit_upperdir(
    store,
    upperdir: Path,
    *,
    compression: str = "gzip",
    clamp_mtime: int | None = None,
    advance: Callable[[int], None] | None = None,
) -> dict:
    """Store ``upperdir`` as a layer and return its descriptor with an extra ``diff_id`` key.

    ``upperdir`` must be a staging directory of ``store`` (same filesystem); afterwards it no longer exists
    at that path (it became the layer, or was discarded because an identical layer was already present).
    ``advance(n)`` is told of every n compressed bytes written.
    """
    from builder.layer import write_layer  # tar and compression: only for a step that ran, not a cached one

    try:
        with store.blob_writer() as writer:
            sink = CountingWriter(writer, advance) if advance else writer
            info = write_layer(upperdir, sink, compression=compression, clamp_mtime=clamp_mtime)
            digest, size = writer.commit()
        checkpoint("commit.blob")
        media_type = media.layer_media_type(info.compression)
        store.record_layer_blob(info.diff_id, digest, size, media_type)
        checkpoint("commit.recorded")
        store.commit_layer(upperdir, info.diff_id)
        checkpoint("commit.done")
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # The usual way a big step fails on a shared CI machine: say where space ran out, not "errno 28".
        raise BuildError(
            f"no space left for this step's layer in the store at {store.root} ({exc.strerror})",
            hint="free space (pybuild prune) or use a store on a larger file system (--root)",
        ) from None
    return {**descriptor(media_type, digest, size), "diff_id": info.diff_id}
