"""Image config, manifest and index documents; ``--change``; the human-readable sizes and ages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from builder.errors import PlanError, UsageError
from builder.oci import media
from builder.oci.changes import apply_change
from builder.oci.config import (
    ConfigError,
    Platform,
    add_empty_history,
    add_layer,
    build_time,
    diff_ids,
    layer_history,
    new_config,
    parse_time,
    with_container_config,
)
from builder.oci.display import human_duration, human_size
from builder.oci.manifest import ManifestError, build_manifest, descriptor, parse_index, parse_manifest

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
T0 = "2024-01-02T03:04:05Z"


def base() -> dict:
    return new_config(Platform("linux", "arm", "v7"), created=T0)


def test_new_config_has_the_required_fields() -> None:
    doc = base()
    assert doc == {
        "created": T0,
        "architecture": "arm",
        "os": "linux",
        "variant": "v7",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }
    assert "variant" not in new_config(Platform("linux", "amd64"), created=T0)


def test_layers_and_empty_history_pair_in_order() -> None:
    doc = add_layer(base(), D1, created_by="RUN a", created=T0)
    doc = add_empty_history(doc, created_by="ENV x=1", created=T0)
    doc = add_layer(doc, D2, created_by="COPY b", created=T0, comment="buildkit.dockerfile.v0")
    assert diff_ids(doc) == [D1, D2]
    assert doc["history"][1] == {"created": T0, "created_by": "ENV x=1", "empty_layer": True}
    pairs = layer_history(doc)
    assert [(entry.get("created_by"), diff_id) for entry, diff_id in pairs] == [
        ("RUN a", D1),
        ("ENV x=1", None),
        ("COPY b", D2),
    ]


def test_helpers_do_not_modify_their_argument() -> None:
    doc = base()
    snapshot = json.dumps(doc)
    add_layer(doc, D1, created_by="x", created=T0)
    with_container_config(doc, Env=["A=1"])
    assert json.dumps(doc) == snapshot


def test_history_naming_more_layers_than_rootfs_is_refused() -> None:
    doc = add_layer(base(), D1, created_by="a", created=T0)
    doc["history"].append({"created_by": "b"})
    with pytest.raises(ConfigError, match="more layers"):
        layer_history(doc)


def test_history_missing_gets_one_entry_per_layer() -> None:
    doc = add_layer(base(), D1, created_by="a", created=T0)
    del doc["history"]
    assert layer_history(doc) == [({}, D1)]


@pytest.mark.parametrize("rootfs", [None, {"type": "x", "diff_ids": []}, {"type": "layers", "diff_ids": ["x"]}])
def test_malformed_rootfs_is_refused(rootfs) -> None:
    with pytest.raises(ConfigError):
        diff_ids({"rootfs": rootfs})


def test_container_config_fields_set_and_removed() -> None:
    doc = with_container_config(base(), Cmd=["sh"], WorkingDir="/w")
    assert doc["config"] == {"Cmd": ["sh"], "WorkingDir": "/w"}
    assert with_container_config(doc, Cmd=None)["config"] == {"WorkingDir": "/w"}
    with pytest.raises(ValueError, match="unknown"):
        with_container_config(doc, cmd=["sh"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", Platform("linux", "amd64")),
        ("linux/x86_64", Platform("linux", "amd64")),
        ("linux/aarch64", Platform("linux", "arm64")),
        ("linux/arm64/v8", Platform("linux", "arm64")),
        ("linux/arm/v6", Platform("linux", "arm", "v6")),
        ("linux/arm", Platform("linux", "arm", "v7")),
        ("Linux/AMD64/v1", Platform("linux", "amd64")),
    ],
)
def test_platform_parse(text: str, expected: Platform) -> None:
    assert Platform.parse(text) == expected


@pytest.mark.parametrize("text", ["linux/", "a/b/c/d", "", "plan9x/amd64"])
def test_platform_parse_rejects(text: str) -> None:
    with pytest.raises(PlanError, match="failed to parse platform"):
        Platform.parse(text)


def test_source_date_epoch_fixes_created(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build_time() == "2023-11-14T22:13:20Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        build_time()


def test_parse_time_accepts_nanoseconds_and_offsets() -> None:
    assert parse_time("2024-01-02T03:04:05.123456789Z") == datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert parse_time("2024-01-02T05:04:05+02:00") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_time("yesterday") is None


def test_manifests_in_both_dialects() -> None:
    config = descriptor(media.OCI_CONFIG, D1, 10)
    layers = [descriptor(media.OCI_LAYER_GZIP, D2, 20), descriptor(media.OCI_LAYER_ZSTD, D1, 5)]
    oci = build_manifest(config, layers)
    assert oci["mediaType"] == media.OCI_MANIFEST and oci["config"]["mediaType"] == media.OCI_CONFIG
    docker = build_manifest(config, layers, docker=True)
    assert docker["mediaType"] == media.DOCKER_MANIFEST
    assert docker["config"]["mediaType"] == media.DOCKER_CONFIG
    assert [layer["mediaType"] for layer in docker["layers"]] == [media.DOCKER_LAYER_GZIP, media.OCI_LAYER_ZSTD]
    assert parse_manifest(json.dumps(docker).encode()) == docker


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(schemaVersion=1), "schemaVersion"),
        (lambda m: m["config"].update(digest="md5:x"), "config.digest: 'md5:x' is not a sha256 digest"),
        (lambda m: m["layers"][0].update(size=-1), r"layers\[0\].size: -1 is less than the minimum of 0"),
        (lambda m: m["layers"][0].update(mediaType="application/x-foreign"), "unsupported media type"),
        (lambda m: m.update(mediaType=media.OCI_INDEX), "not an image manifest"),
        (lambda m: m.pop("layers"), "'layers' is a required property"),
        (lambda m: m.update(annotations={"a": 5}), "annotations.a: 5 is not of type 'string'"),
    ],
)
def test_malformed_manifests_are_refused(change, message: str) -> None:
    manifest = build_manifest(descriptor(media.OCI_CONFIG, D1, 1), [descriptor(media.OCI_LAYER, D2, 2)])
    change(manifest)
    with pytest.raises(ManifestError, match=message):
        parse_manifest(json.dumps(manifest).encode())


def test_index_parse() -> None:
    index = {"schemaVersion": 2, "manifests": [descriptor(media.OCI_MANIFEST, D1, 3)]}
    assert parse_index(json.dumps(index).encode())["manifests"][0]["digest"] == D1
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_index(b"{")


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        ('CMD ["sh", "-c", "echo hi"]', "Cmd", ["sh", "-c", "echo hi"]),
        ("CMD echo hi", "Cmd", ["/bin/sh", "-c", "echo hi"]),
        ('ENTRYPOINT ["/bin/app"]', "Entrypoint", ["/bin/app"]),
        ('ENV A=1 B="two words"', "Env", ["PATH=/bin", "A=1", "B=two words"]),
        ("ENV PATH /usr/bin:/bin", "Env", ["PATH=/usr/bin:/bin"]),
        ("LABEL a=b c=d", "Labels", {"a": "b", "c": "d"}),
        ("EXPOSE 80 53/UDP", "ExposedPorts", {"80/tcp": {}, "53/udp": {}}),
        ('VOLUME ["/data"]', "Volumes", {"/data": {}}),
        ("VOLUME /a /b", "Volumes", {"/a": {}, "/b": {}}),
        ("WORKDIR sub", "WorkingDir", "/srv/sub"),
        ("WORKDIR /abs", "WorkingDir", "/abs"),
        ("USER 1000:1000", "User", "1000:1000"),
        ("STOPSIGNAL SIGINT", "StopSignal", "SIGINT"),
        ("onbuild RUN make", "OnBuild", ["RUN make"]),
    ],
)
def test_change_instructions(change: str, field: str, value) -> None:
    doc = with_container_config(base(), Env=["PATH=/bin"], WorkingDir="/srv")
    assert apply_change(doc, change)["config"][field] == value


@pytest.mark.parametrize(
    ("change", "message"),
    [("RUN make", "unsupported instruction RUN"), ("CMD", "needs an argument"), ("ENV =x", "KEY=value")],
)
def test_bad_changes_are_usage_errors(change: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        apply_change(base(), change)


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0B"), (999, "999B"), (1000, "1kB"), (1240, "1.24kB"), (4_261_234, "4.26MB")]
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (3600, "About an hour"),
        (7200, "2 hours"),
        (3 * 86400, "3 days"),
        (21 * 86400, "3 weeks"),
        (90 * 86400, "3 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
