"""Turning a step's upperdir into a layer of the store: blob, unpacked layer, and record.

The upperdir is streamed once through ``write_layer`` (tar → diff_id, compression → blob digest) into a blob
writer, then moved — not copied — into the store as the unpacked layer named by its diff_id. A step that
writes its upperdir itself may instead write the layer tar while it fills the directory (`layer_stream`);
the commit then only records that blob and moves the directory.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from builder.errors import BuildError
from builder.faults import checkpoint
from builder.oci import media
from builder.oci.manifest import descriptor

if TYPE_CHECKING:
    from builder.layer.diff import LayerInfo, LayerStream


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


class StreamedLayer:
    """What `layer_stream` yields: the `LayerStream` to write entries into, `abandon` for a writer that finds
    the stream cannot be trusted (the commit then archives the directory itself), and after the block the
    layer's ``diff_id`` (None if abandoned) with what `commit_upperdir` needs to use the stored blob."""

    def __init__(self, stream: LayerStream, on_commit: Callable[[str], None] | None = None) -> None:
        self.stream = stream
        self.abandoned = False
        self.diff_id: str | None = None  # once the block ended and the blob is stored
        self.info: LayerInfo | None = None
        self.clamp_mtime: int | None = None
        self.digest = ""
        self.size = 0
        self.on_commit = on_commit

    @property
    def complete(self) -> bool:
        """The blob is stored and holds exactly the upperdir's layer."""
        return self.info is not None and not self.abandoned

    def abandon(self) -> None:
        self.abandoned = True


@contextmanager
def layer_stream(
    store,
    upperdir: Path,
    *,
    compression: str = "gzip",
    clamp_mtime: int | None = None,
    on_commit: Callable[[str], None] | None = None,
) -> Iterator[StreamedLayer]:
    """Write the layer of ``upperdir`` while the caller fills it: entries go into the yielded stream in the
    layer's order, everything but the end of the archive (which this adds).

    The caller promises that, when the block ends normally and `StreamedLayer.abandon` was not called, the
    stream holds exactly what ``write_layer(upperdir)`` would write, and that ``upperdir`` is not changed
    again before its `commit_upperdir`. Then the blob is stored here and that commit uses it instead of
    reading the directory again, and calls ``on_commit(diff_id)`` once the layer is in the store (so what
    names the layer is written after it exists). Leaving the block with an exception, or abandoned, stores
    nothing and calls nothing.
    """
    from builder.layer.diff import LayerStream

    with store.blob_writer() as writer:
        with LayerStream(writer, compression=compression, clamp_mtime=clamp_mtime, hash_output=False) as stream:
            handle = StreamedLayer(stream, on_commit)
            yield handle
            if handle.abandoned:
                return
            info = stream.finish()
        digest, size = writer.commit()
    handle.info, handle.clamp_mtime, handle.digest, handle.size = info, clamp_mtime, digest, size
    handle.diff_id = info.diff_id


def commit_upperdir(
    store,
    upperdir: Path,
    *,
    compression: str = "gzip",
    clamp_mtime: int | None = None,
    advance: Callable[[int], None] | None = None,
    streamed: StreamedLayer | None = None,
) -> dict:
    """Store ``upperdir`` as a layer and return its descriptor with an extra ``diff_id`` key.

    ``upperdir`` must be a staging directory of ``store`` (same filesystem); afterwards it no longer exists
    at that path (it became the layer, or was discarded because an identical layer was already present).
    ``advance(n)`` is told of every n compressed bytes written. ``streamed``, the layer `layer_stream` wrote
    for ``upperdir`` while it was filled, is used as it is when complete and made with the same compression
    and ``clamp_mtime``; its ``on_commit`` is called with the diff_id stored.
    """
    try:
        usable = streamed is not None and streamed.complete and streamed.info is not None
        on_commit = streamed.on_commit if streamed is not None and streamed.complete else None
        if usable and (streamed.info.compression, streamed.clamp_mtime) == (compression, clamp_mtime):
            info, digest, size = streamed.info, streamed.digest, streamed.size
            if advance:
                advance(size)
        else:
            # tar and compression: only for a step that ran, not a cached one
            from builder.layer import write_layer

            with store.blob_writer() as writer:
                sink = CountingWriter(writer, advance) if advance else writer
                info = write_layer(
                    upperdir, sink, compression=compression, clamp_mtime=clamp_mtime, hash_output=False
                )
                digest, size = writer.commit()
        checkpoint("commit.blob")
        media_type = media.layer_media_type(info.compression)
        store.record_layer_blob(info.diff_id, digest, size, media_type)
        checkpoint("commit.recorded")
        store.commit_layer(upperdir, info.diff_id, clamp_mtime=clamp_mtime)
        checkpoint("commit.done")
        if on_commit is not None:
            on_commit(info.diff_id)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # The usual way a big step fails on a shared CI machine: say where space ran out, not "errno 28".
        raise BuildError(
            f"no space left for this step's layer in the store at {store.root} ({exc.strerror})",
            hint="free space (pybuild prune) or use a store on a larger file system (--root)",
        ) from None
    return {**descriptor(media_type, digest, size), "diff_id": info.diff_id}
