"""Turning a step's upperdir into a layer of the store: blob, unpacked layer, and record.

The upperdir is streamed once through ``write_layer`` (tar → diff_id, compression → blob digest) into a blob
writer, then moved — not copied — into the store as the unpacked layer named by its diff_id. A step that
writes its upperdir itself may instead write the layer tar while it fills the directory
(`builder.fsops.layerstream`); the commit then only records that blob and moves the directory.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

from builder.errors import BuildError
from builder.faults import checkpoint
from builder.fsops.layerstream import CountingWriter, StreamedLayer
from builder.oci import media
from builder.oci.manifest import descriptor

__all__ = ["CountingWriter", "StreamedLayer", "commit_upperdir"]


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
