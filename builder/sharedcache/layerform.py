"""The form of the layers a cache export writes: ``compression`` (+ ``compression-level``) and
``oci-mediatypes`` of a `CacheSpec`.

Every layer a cache record names was made by a build step, so ``compression`` applies to each of them (what
``force-compression=true`` asks for in BuildKit, where a layer may also come from elsewhere). A layer is
recompressed as a stream by `builder.reshape.recompress`, which checks its diff_id on the way and records
the new blob as one more form of the layer, so the next export or output finds it. A layer the store keeps
only unpacked (its tar made on demand, `builder.store.derived`) is compressed with the build's
``--compression`` when the spec names none, as a push would send it. With
``oci-mediatypes=false`` the layers take Docker's media types (zstd has none, so it keeps OCI's, as pybuild's
image outputs do).
"""

from __future__ import annotations

from collections.abc import Callable

from builder.oci import media
from builder.sharedcache.spec import CacheSpec


def shape_records(
    store,
    spec: CacheSpec,
    records: dict[str, dict],
    need_blob: Callable[[str], None],
    compression: str = "gzip",
) -> dict[str, dict]:
    """``records`` (key → ``{"parts", "result"}``) whose results name their layers in ``spec``'s form, each
    with a blob kept in the store (``compression`` for a layer kept only unpacked, when ``spec`` names none).
    ``need_blob(digest)`` makes a blob present in the store before it is recompressed (it may still be
    remote); raises `BuildError`. The same records when nothing changes."""
    from builder.reshape import recompress

    shaped: dict[str, dict] = {}  # old digest → new descriptor
    out = {}
    for key, record in records.items():
        result = record["result"]
        new = shaped.get(result["digest"])
        if new is None:
            new = {"mediaType": result["mediaType"], "digest": result["digest"], "size": result["size"]}
            current = media.layer_compression(result["mediaType"])
            wanted = spec.compression or current
            if spec.compression is not None and (wanted != current or spec.compression_level is not None):
                need_blob(result["digest"])
                new = recompress(store, new, result["diff_id"], wanted, spec.compression_level)
            elif store.made_on_demand(result["digest"]):
                new = recompress(store, new, result["diff_id"], spec.compression or compression, None)
            if spec.compression is not None or not spec.oci_mediatypes:
                kind = media.layer_compression(new["mediaType"])
                new["mediaType"] = media.layer_media_type(kind, docker=not spec.oci_mediatypes)
            shaped[result["digest"]] = new
        out[key] = {"parts": record["parts"], "result": {**result, **new}}
    return out
