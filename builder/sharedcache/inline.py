"""The inline cache: a build's cache records carried in its image's config (``--cache-to type=inline``).

BuildKit writes its own records under the config's top-level key ``moby.buildkit.cache.v0``: a string, the
base64 of a JSON document whose records name layers by their position in the image
(tests/sharedcache/reference/buildkit-inline-cache.json shows one). pybuild's keys are not BuildKit's, so
its records go under `CONFIG_KEY` in the same way: the value is the base64 of canonical JSON (keys sorted)
``{"v": 1, "records": {key: {"parts": {...}, "layer": N, "created": "…"}}}``, ``parts`` as in the registry
artifact (`builder.sharedcache.artifact`), ``layer`` the index of the step's layer in the image's
``rootfs.diff_ids`` (and manifest ``layers``), ``created`` the time the step's layer was made, when known
(its history entry keeps it on a later hit). The same records always give the same value, so with
SOURCE_DATE_EPOCH the same inputs still give the same image digest.

Only the final image's layer steps can be named this way: ``mode=min``, as BuildKit's inline cache.

Reading back (`records_from_image`): the layer of a record is resolved from the image's manifest (media
type, digest, size — whatever compression the push used) and config (diff_id); the blobs are then fetched
lazily from the image's repository like those of a cache artifact. A record that does not check out is
dropped.
"""

from __future__ import annotations

import base64
import binascii
import json

CONFIG_KEY = "io.pybuild.cache.v1"
_VERSION = 1
#: Inline caches a base image's config may carry, which a derived image never inherits: its records name
#: another build's steps (BuildKit leaves its own key out of a derived image's config too).
INHERITED = (CONFIG_KEY, "moby.buildkit.cache.v0")
#: The largest image config read for its inline cache.
MAX_CONFIG = 64 << 20


def set_inline_cache(shared, document: dict, layers: list[str]) -> None:
    """Give the image whose config is ``document`` (its layers' diff_ids ``layers``, bottom first) the inline
    cache this build asks for: this build's records when ``shared`` (a `SharedCache`) exports
    ``type=inline``, else none. An inline cache the config inherited from a base image is dropped either
    way (`INHERITED`). Call it after the image's last step and before its config is committed; each
    platform's image gets its own."""
    for key in INHERITED:
        document.pop(key, None)
    if any(spec.type == "inline" for spec in shared.targets):
        document[CONFIG_KEY] = encode(shared.steps, layers)


def encode(steps, layers: list[str]) -> str:
    """The value of `CONFIG_KEY` for ``steps`` (`StepRecord`s of the build) in an image of ``layers``: the
    records of the steps whose layer stack is a prefix of the image's."""
    from builder.cache import chain_id

    position = {chain_id(layers[: n + 1]): n for n in range(len(layers))}
    records: dict[str, dict] = {}
    for step in steps:
        n = position.get(step.chain)
        if n is None or step.result.get("diff_id") != layers[n]:
            continue
        record: dict = {"parts": step.parts, "layer": n}
        if isinstance(step.result.get("created"), str):
            record["created"] = step.result["created"]
        records[step.key] = record
    text = json.dumps({"v": _VERSION, "records": records}, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(text.encode()).decode("ascii")


def records_from_image(manifest: dict, config: bytes) -> dict[str, dict] | None:
    """The records (key → ``{"parts", "result"}``, as `artifact.parse_index` gives them) of the inline cache
    in an image with ``manifest`` (a validated image manifest) and ``config`` (its config blob); None if the
    image has none. Malformed records are left out; raises ValueError when the value itself is unreadable."""
    from builder.oci.schemas import load_json
    from builder.sharedcache import artifact

    doc = load_json(config, "the image config")
    if not isinstance(doc, dict) or CONFIG_KEY not in doc:
        return None
    value = doc[CONFIG_KEY]
    try:
        inner = load_json(base64.b64decode(value, validate=True), f"the image config's {CONFIG_KEY}")
    except (TypeError, binascii.Error):
        raise ValueError(f"the image config's {CONFIG_KEY} is not base64") from None
    if not isinstance(inner, dict) or inner.get("v") != _VERSION or not isinstance(inner.get("records"), dict):
        raise ValueError(f"the image config's {CONFIG_KEY} is not a version {_VERSION} pybuild cache")
    rootfs = doc.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    layers = manifest.get("layers")
    if not isinstance(diff_ids, list) or not isinstance(layers, list) or len(diff_ids) != len(layers):
        raise ValueError("the image's config and manifest do not list the same layers")
    records: dict[str, dict] = {}
    for key, record in inner["records"].items():
        n = record.get("layer") if isinstance(record, dict) else None
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < len(layers):
            continue
        layer = layers[n]
        result = {
            "mediaType": layer.get("mediaType"),
            "digest": layer.get("digest"),
            "size": layer.get("size"),
            "diff_id": diff_ids[n],
        }
        if isinstance(layer.get("annotations"), dict):
            result["annotations"] = layer["annotations"]
        if "created" in record:
            result["created"] = record["created"]
        candidate = {"parts": record.get("parts"), "result": result}
        if artifact.valid(candidate) and artifact.valid_key(key):
            records[key] = candidate
    return records
