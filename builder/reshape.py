"""An image made over for one output: layers recompressed, Docker media types, annotations — buildx's
``compression``, ``compression-level``, ``force-compression``, ``oci-mediatypes`` and ``annotation*`` fields.

As in BuildKit, ``compression`` (and ``compression-level``) apply to the layers the build made; layers that
came from a base image keep their form unless ``force-compression=true``. A recompressed layer is
decompressed and compressed again as a stream (its diff_id checked on the way), stored, and recorded as one
more form of that layer, so the next output or build asking for it finds it. The reshaped image is a new
manifest in the store; the build's own image is left as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from builder.errors import BuildError
from builder.oci import media
from builder.oci.image import Image, commit_image
from builder.oci.index import ImageIndex, commit_index
from builder.oci.manifest import descriptor
from builder.outputspec import OutputSpec
from builder.platforms import Platform

_CHUNK = 1 << 20


def reshape(store, result: Image | ImageIndex, output: OutputSpec, own_layers: Collection[str]):
    """``result`` as ``output`` asks for it (the same object when nothing changes). ``own_layers`` are the
    diff_ids the build made (``compression`` applies to them; to all with ``force-compression``)."""
    if not output.reshapes:
        return result
    if isinstance(result, ImageIndex):
        images = [
            _reshape_image(store, image, output, own_layers, platform)
            for image, platform in zip(result.images, result.platforms, strict=True)
        ]
        entries = [_annotations(output, "manifest-descriptor", p) for p in result.platforms]
        return commit_index(
            store,
            images,
            platforms=list(result.platforms),
            annotations=_annotations(output, "index", None),
            entry_annotations=entries,
            docker=output.oci_mediatypes is False,
        )
    return _reshape_image(store, result, output, own_layers, result.platform)


def _annotations(output: OutputSpec, level: str, platform: Platform | None) -> dict[str, str]:
    return {
        a.key: a.value
        for a in output.annotations
        if a.level == level and (platform is None or a.applies_to(platform))
    }


def _reshape_image(
    store, image: Image, output: OutputSpec, own_layers: Collection[str], platform: Platform
) -> Image:
    layers = []
    for layer, diff_id in zip(image.layers, image.diff_ids, strict=True):
        applies = output.force_compression or diff_id in own_layers
        current = media.layer_compression(layer["mediaType"])
        wanted = output.compression or current
        if applies and (wanted != current or output.compression_level is not None):
            layer = recompress(store, layer, diff_id, wanted, output.compression_level)
        layers.append(descriptor(layer["mediaType"], layer["digest"], layer["size"]))
    return commit_image(
        store,
        image.config,
        layers,
        docker=output.oci_mediatypes is False,
        annotations=_annotations(output, "manifest", platform),
    )


def recompress(store, layer: dict, diff_id: str, compression: str, level: int | None) -> dict:
    """A descriptor of layer ``diff_id`` compressed with ``compression`` (at ``level``): a recorded form
    when one exists and no level is asked for, else made now from ``layer``'s blob and recorded."""
    from builder.layer import open_decompressed
    from builder.layer.compress import open_compressed_writer

    media_type = media.layer_media_type(compression)
    if level is None:
        for known in store.layer_blobs(diff_id):
            kind = known.get("mediaType")
            same = media.is_layer(kind or "") and media.layer_compression(kind) == compression
            if same and store.has_blob(known["digest"]):
                return descriptor(media_type, known["digest"], known["size"])
    hasher = hashlib.sha256()
    with store.open_blob(layer["digest"]) as blob, store.blob_writer() as writer:
        plain = open_decompressed(blob)
        sink = open_compressed_writer(writer, compression, level)
        while chunk := plain.read(_CHUNK):
            hasher.update(chunk)
            sink.write(chunk)
        sink.close()
        if "sha256:" + hasher.hexdigest() != diff_id:
            raise BuildError(
                f"layer {layer['digest']} does not decompress to its diff_id {diff_id}: the store is damaged"
            )
        digest, size = writer.commit()
    store.record_layer_blob(diff_id, digest, size, media_type)
    return descriptor(media_type, digest, size)
