"""Turning a step's upperdir into a layer of the store: unpacked layer and record, no blob.

The upperdir is streamed once through ``write_layer`` (uncompressed, into nothing but the hashes) for its
diff_id and tar size, then moved — not copied — into the store as the unpacked layer named by its diff_id.
The store records how its tar is made again (`builder.store.derived`): the layer's blob is that tar, made
on demand, and a compressed blob only when an output or a cache export needs one (`builder.reshape`). A
step that writes its upperdir itself may instead write the layer tar while it fills the directory
(`builder.fsops.layerstream`); the commit then only records that layer and moves the directory.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

from builder.errors import BuildError
from builder.faults import checkpoint
from builder.fsops.layerstream import StreamedLayer
from builder.oci import media
from builder.oci.manifest import descriptor
from builder.store.derived import TarForm

__all__ = ["StreamedLayer", "commit_upperdir"]


def commit_upperdir(
    store,
    upperdir: Path,
    *,
    clamp_mtime: int | None = None,
    advance: Callable[[int], None] | None = None,
    streamed: StreamedLayer | None = None,
) -> dict:
    """Store ``upperdir`` as a layer and return its descriptor (an uncompressed layer whose digest is the
    diff_id) with an extra ``diff_id`` key.

    ``upperdir`` must be a staging directory of ``store`` (same filesystem); afterwards it no longer exists
    at that path (it became the layer, or was discarded because an identical layer was already present).
    ``advance(n)`` is told of every n tar bytes read. ``streamed``, the layer `layer_stream` wrote for
    ``upperdir`` while it was filled, is used as it is when complete and made with the same ``clamp_mtime``;
    its ``on_commit`` is called with the diff_id stored.
    """
    try:
        usable = streamed is not None and streamed.complete and streamed.info is not None
        on_commit = streamed.on_commit if streamed is not None and streamed.complete else None
        if usable and streamed.clamp_mtime == clamp_mtime:
            info = streamed.info
            if advance:
                advance(info.size)
        else:
            # the tar, hashed: only for a step that ran, not a cached one
            from builder.layer import hash_layer

            info = hash_layer(upperdir, clamp_mtime=clamp_mtime, advance=advance)
        checkpoint("commit.blob")
        store.record_layer_tar(info.diff_id, TarForm(info.size, clamp_mtime))
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
    return {**descriptor(media.layer_media_type("none"), info.diff_id, info.size), "diff_id": info.diff_id}
