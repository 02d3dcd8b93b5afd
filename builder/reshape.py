"""An image made over for one output: layers compressed or recompressed, Docker media types, annotations —
buildx's ``compression``, ``compression-level``, ``force-compression``, ``oci-mediatypes`` and
``annotation*`` fields.

A layer a build step made is kept only unpacked (its blob is its tar, made on demand: `builder.store.derived`).
An output that sends the image out of the store (a push, ``type=oci``, ``type=docker``; `OutputSpec.sends`)
compresses such a layer once, with the output's ``compression`` or else the build's ``--compression``; the
blob is kept and recorded, so the next output finds it. A build whose image stays in the store compresses
nothing.

As in BuildKit, ``compression`` (and ``compression-level``) apply to the layers the build made; layers that
came from a base image keep their form unless ``force-compression=true``. A recompressed layer is
decompressed and compressed again as a stream (its diff_id checked on the way), stored, and recorded as one
more form of that layer, so the next output or build asking for it finds it. The reshaped image is a new
manifest in the store; the build's own image is left as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from builder import diskfull
from builder.errors import BuildError
from builder.oci import media
from builder.oci.image import Image, commit_image
from builder.oci.index import ImageIndex, commit_index
from builder.oci.manifest import descriptor
from builder.outputspec import OutputSpec
from builder.platforms import Platform

_CHUNK = 1 << 20
_FULL_HINT = "free space (pybuild prune) or use a store on a larger file system (--root)"


def reshape(
    store,
    result: Image | ImageIndex,
    output: OutputSpec,
    own_layers: Collection[str],
    compression: str = "gzip",
):
    """``result`` as ``output`` asks for it (the same object when nothing changes). ``own_layers`` are the
    diff_ids the build made (``compression`` applies to them; to all with ``force-compression``);
    ``compression`` is what a layer kept only unpacked is compressed with when ``output`` sends the image
    out of the store and names no compression for it."""
    packs = output.sends and any(_unpacked_only(store, image) for image in _images(result))
    if not (output.reshapes or packs):
        return result
    if isinstance(result, ImageIndex):
        images = [
            _reshape_image(store, image, output, own_layers, platform, compression)
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
    return _reshape_image(store, result, output, own_layers, result.platform, compression)


def packed(store, result: Image | ImageIndex, compression: str = "gzip"):
    """``result`` with every layer it keeps only unpacked compressed with ``compression`` (the same object
    when there is none): what a push or an export of a stored image sends (`pybuild push`, `save`)."""
    from builder.outputspec import OutputSpec

    return reshape(store, result, OutputSpec(type="registry", push=True), (), compression)


def _images(result: Image | ImageIndex) -> list[Image]:
    return list(result.images) if isinstance(result, ImageIndex) else [result]


def _unpacked_only(store, image: Image) -> bool:
    return any(store.made_on_demand(layer["digest"]) for layer in image.layers)


def _annotations(output: OutputSpec, level: str, platform: Platform | None) -> dict[str, str]:
    return {
        a.key: a.value
        for a in output.annotations
        if a.level == level and (platform is None or a.applies_to(platform))
    }


def _reshape_image(
    store, image: Image, output: OutputSpec, own_layers: Collection[str], platform: Platform, compression: str
) -> Image:
    layers = []
    for layer, diff_id in zip(image.layers, image.diff_ids, strict=True):
        applies = output.force_compression or diff_id in own_layers
        asked = applies and (output.compression is not None or output.compression_level is not None)
        current = media.layer_compression(layer["mediaType"])
        wanted = output.compression or current
        if asked and (wanted != current or output.compression_level is not None):
            layer = recompress(store, layer, diff_id, wanted, output.compression_level)
        elif output.sends and store.made_on_demand(layer["digest"]):
            # a layer kept only unpacked leaves as a stored blob: in the form the output asked for (its tar,
            # for compression=uncompressed), else the build's; never left for a later packing, which would
            # compress it and lose this output's media types
            layer = recompress(store, layer, diff_id, wanted if asked else compression, None)
        layers.append(descriptor(layer["mediaType"], layer["digest"], layer["size"]))
    return commit_image(
        store,
        image.config,
        layers,
        docker=output.oci_mediatypes is False,
        annotations=_annotations(output, "manifest", platform),
    )


def recompress(store, layer: dict, diff_id: str, compression: str, level: int | None) -> dict:
    """A descriptor of layer ``diff_id`` compressed with ``compression`` (at ``level``), its blob kept in the
    store: a recorded form when one exists and no level is asked for, else made now from ``layer``'s blob
    (a stored one, or the tar the store makes of an unpacked layer) and recorded."""
    from builder.layer import open_decompressed
    from builder.layer.compress import open_compressed_writer

    media_type = media.layer_media_type(compression)
    if level is None:
        for known in store.layer_blobs(diff_id):
            kind = known.get("mediaType")
            same = media.is_layer(kind or "") and media.layer_compression(kind) == compression
            if same and store.has_stored_blob(known["digest"]):
                return descriptor(media_type, known["digest"], known["size"])
    hasher = hashlib.sha256()
    # An export into a store with too little room fails here, while the blob is written: say which blob.
    # The blob writer removes its partial file, so the store keeps nothing of it.
    where = f"the {compression} blob of layer {diff_id} in the store at {store.root}"
    with diskfull.naming(where, hint=_FULL_HINT):
        with store.open_blob(layer["digest"]) as blob, store.blob_writer() as writer:
            plain = open_decompressed(blob)
            sink = open_compressed_writer(writer, compression, level)
            while chunk := plain.read(_CHUNK):
                hasher.update(chunk)
                sink.write(chunk)
            sink.close()
            if "sha256:" + hasher.hexdigest() != diff_id:
                raise BuildError(
                    f"layer {layer['digest']} does not decompress to its diff_id {diff_id}: "
                    "the store is damaged"
                )
            digest, size = writer.commit()
        store.record_layer_blob(diff_id, digest, size, media_type)
    return descriptor(media_type, digest, size)
