"""The inline cache's records in an image config, read back from whatever an image holds: a record that does
not check out is dropped, never trusted; a value that is not pybuild's is an error (a warning at build time)."""

from __future__ import annotations

import base64
import json

import pytest

from builder.errors import BuildError
from builder.sharedcache.inline import CONFIG_KEY, encode, records_from_image
from builder.sharedcache.session import StepRecord

D = ["sha256:" + c * 64 for c in "abc"]  # diff_ids of a three-layer image
BLOBS = ["sha256:" + c * 64 for c in "def"]
KEY = "1" * 64
MANIFEST = {
    "layers": [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": b, "size": 10 + i}
        for i, b in enumerate(BLOBS)
    ]
}


def _config(value) -> bytes:
    return json.dumps({"rootfs": {"type": "layers", "diff_ids": D}, CONFIG_KEY: value}).encode()


def _value(records: dict) -> str:
    return base64.b64encode(json.dumps({"v": 1, "records": records}).encode()).decode()


def _chain(n: int) -> str:
    from builder.cache import chain_id

    return chain_id(D[:n])


def test_encoded_records_name_the_image_layers_and_read_back_with_the_manifest_descriptors() -> None:
    steps = [
        StepRecord(KEY, {"keyword": "RUN"}, {"diff_id": D[1], "created": "2023-11-14T22:13:20Z"}, _chain(2)),
        # a step of another stage, not under the final image: left out
        StepRecord("2" * 64, {"keyword": "RUN"}, {"diff_id": D[2]}, "sha256:" + "9" * 64),
    ]
    value = encode(steps, D)
    assert encode(list(steps), list(D)) == value  # the same records, the same bytes
    records = records_from_image(MANIFEST, _config(value))
    assert records == {
        KEY: {
            "parts": {"keyword": "RUN"},
            "result": {**MANIFEST["layers"][1], "diff_id": D[1], "created": "2023-11-14T22:13:20Z"},
        }
    }


@pytest.mark.parametrize(
    "record",
    [
        {"parts": {}, "layer": 3},  # past the image's layers
        {"parts": {}, "layer": -1},
        {"parts": {}, "layer": True},
        {"parts": "x", "layer": 0},
        {"parts": {}, "layer": 0, "created": 5},
        "not a record",
    ],
)
def test_a_record_that_does_not_check_out_is_dropped(record) -> None:
    assert records_from_image(MANIFEST, _config(_value({KEY: record, "X": {"parts": {}, "layer": 0}}))) == {}


@pytest.mark.parametrize(
    "value",
    [
        "***",
        7,
        base64.b64encode(b"[]").decode(),
        base64.b64encode(b"{not json").decode(),
        base64.b64encode(json.dumps({"v": 2, "records": {}}).encode()).decode(),
    ],
)
def test_a_value_that_is_not_a_pybuild_cache_is_an_error(value) -> None:
    with pytest.raises((ValueError, BuildError)) as caught:  # both are a warning in `open_remote`
        records_from_image(MANIFEST, _config(value))
    assert CONFIG_KEY in str(caught.value)


def test_an_image_without_the_key_has_no_records() -> None:
    assert records_from_image(MANIFEST, json.dumps({"rootfs": {"diff_ids": D}}).encode()) is None


def test_a_config_and_manifest_that_disagree_are_an_error() -> None:
    with pytest.raises(ValueError, match="do not list the same layers"):
        records_from_image({"layers": MANIFEST["layers"][:2]}, _config(_value({})))


class _Shared:
    def __init__(self, *targets: str) -> None:
        from builder.sharedcache.spec import parse_cache_spec

        self.targets = [parse_cache_spec(t, export=True) for t in targets]
        self.steps = [StepRecord(KEY, {"keyword": "RUN"}, {"diff_id": D[1]}, _chain(2))]


@pytest.mark.parametrize("targets", [(), ("type=registry,ref=r.io/a:c",), ("type=inline",)])
def test_an_inline_cache_from_the_base_image_is_never_inherited(targets) -> None:
    from builder.sharedcache.inline import set_inline_cache

    document = {"rootfs": {"diff_ids": D}, CONFIG_KEY: _value({"9" * 64: {"parts": {}, "layer": 0}})}
    document["moby.buildkit.cache.v0"] = "W10="  # BuildKit's, from a base it built
    set_inline_cache(_Shared(*targets), document, D)
    assert "moby.buildkit.cache.v0" not in document
    if "type=inline" in targets:
        assert set(records_from_image(MANIFEST, json.dumps(document).encode())) == {KEY}
    else:
        assert CONFIG_KEY not in document
