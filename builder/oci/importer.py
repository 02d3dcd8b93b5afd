"""``pybuild import``: a root filesystem (tar, possibly compressed, or a directory) → a one-layer image.

As ``docker import``: the image has one layer holding the filesystem, an empty container config (plus any
``--change`` instructions), the given platform (default: the host's), and one history entry commented
``Imported from SOURCE`` (or the ``message``). The layer is normalised the way pybuild writes every layer
(sorted entries, PAX headers), so importing the same tree twice gives the same diff_id.

A tar is unpacked into a staging directory of the store (refusing entries that escape it), written out as a
layer blob and the directory committed as the unpacked layer. A directory is written as a layer blob directly
and the blob unpacked into the store. A failure discards the staging directory and stores no tag.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from builder.oci import media
from builder.oci.changes import apply_change
from builder.oci.config import add_layer, build_time, new_config
from builder.oci.image import Image, commit_image
from builder.oci.manifest import descriptor
from builder.platforms import Platform
from builder.refs import ImageRef


def _write_blob(store, root: Path, compression: str) -> dict:
    """Write ``root`` (overlay form) as a layer blob; returns its descriptor plus ``diff_id``."""
    from builder.layer import write_layer

    with store.blob_writer() as writer:
        info = write_layer(root, writer, compression=compression)
        digest, size = writer.commit()
    desc = descriptor(media.layer_media_type(info.compression), digest, size)
    return {**desc, "diff_id": info.diff_id}


def _layer_from_tar(store, stream: BinaryIO, compression: str) -> dict:
    from builder.layer import apply_layer

    staging = store.staging_dir()
    try:
        apply_layer(stream, staging, mode="overlay", form=store.form)
        layer = _write_blob(store, staging, compression)
        store.commit_layer(staging, layer["diff_id"])
    except BaseException:
        store.discard_staging(staging)
        raise
    return layer


def _layer_from_dir(store, root: Path, compression: str) -> dict:
    from builder.layer import apply_layer

    layer = _write_blob(store, root, compression)

    def unpack(staging: Path) -> str:
        with store.open_blob(layer["digest"]) as stream:
            return apply_layer(stream, staging, mode="overlay", form=store.form)

    store.ensure_layer(layer["diff_id"], unpack)
    return layer


def import_rootfs(
    store,
    source: Path | BinaryIO,
    ref: ImageRef | None,
    *,
    platform: Platform | None = None,
    changes: Iterable[str] = (),
    message: str | None = None,
    source_name: str | None = None,
    compression: str = "gzip",
) -> Image:
    """Make a one-layer image of ``source`` (a directory, a tar file path, or an open tar stream) and tag it
    ``ref`` (None: untagged). ``source_name`` is what the history comment calls the source (default: the path,
    or ``-`` for a stream). Returns the stored image.
    """
    from builder.store.gc import GC_LOCK

    # Shared with other writers, exclusive for gc: the new layer is unreferenced until the image is tagged.
    with store.lock(GC_LOCK, shared=True):
        return _import(store, source, ref, platform, changes, message, source_name, compression)


def _import(store, source, ref, platform, changes, message, source_name, compression) -> Image:
    if isinstance(source, Path) and source.is_dir():
        layer = _layer_from_dir(store, source, compression)
    elif isinstance(source, Path):
        with open(source, "rb") as stream:
            layer = _layer_from_tar(store, stream, compression)
    else:
        layer = _layer_from_tar(store, source, compression)
    diff_id = layer.pop("diff_id")
    store.record_layer_blob(diff_id, layer["digest"], layer["size"], layer["mediaType"])

    created = build_time()
    shown = source_name or (str(source) if isinstance(source, Path) else "-")
    config = new_config(platform or Platform.host(), created=created)
    comment = message or f"Imported from {shown}"
    config = add_layer(config, diff_id, created_by="", created=created, comment=comment)
    for change in changes:
        config = apply_change(config, change)
    return commit_image(store, config, [layer], tags=[ref] if ref is not None else [])
