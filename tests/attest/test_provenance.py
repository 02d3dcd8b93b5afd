"""SLSA provenance from a BuildRecord, against what BuildKit v0.13 wrote for the same build
(tests/attest/recorded/, see its README): same layout, same request, same materials."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from builder.attest.intoto import Subject
from builder.attest.provenance import (
    BUILD_TYPE_V1,
    PREDICATE_V1,
    ProvenanceOptions,
    go_time,
    provenance_predicate,
    provenance_statement,
)
from builder.attest.record import (
    BaseImage,
    BuildRecord,
    LayerDescriptor,
    LayerStep,
    RemoteSource,
    SecretUse,
    SshUse,
)

RECORDED = Path(__file__).parent / "recorded"
BUSYBOX = "sha256:302092009075f38832bfbfefdb27526c03645e6c7712ae5229a24acd1c1dd01b"
REMOTE = "sha256:7c2b4993283c3695987e0512b62be4168233aabac49618259a6710b941136e52"
STARTED = datetime(2026, 12, 6, 3, 36, 40, 819614, tzinfo=UTC)
FINISHED = datetime(2026, 12, 6, 3, 36, 41, 104056, tzinfo=UTC)
GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_bytes())


def layer(n: int, line: int, instruction: str, *, blob: bool = True) -> LayerStep:
    descriptor = LayerDescriptor(GZIP, "sha256:" + f"{n:x}" * 64, 100 + n) if blob else None
    return LayerStep("sha256:" + f"{n + 10:x}" * 32, "base", line, instruction, descriptor=descriptor)


def the_recorded_build(**changes) -> BuildRecord:
    """The build tests/attest/recorded/Dockerfile describes, as pybuild's solver would record it."""
    text = (RECORDED / "Dockerfile").read_bytes()
    values = dict(
        buildfile_name="Dockerfile",
        buildfile_digest="sha256:" + hashlib.sha256(text).hexdigest(),
        buildfile_text=text,
        started=STARTED,
        finished=FINISHED,
        builder_platform="linux/amd64",
        invocation_id="suyf8ky4hez5n2ucp3f48ud27",
        build_args={"SOURCE_DATE_EPOCH": "1700000000", "GREETING": "hello"},
        secrets=(SecretUse("token"),),
        base_images=(BaseImage("127.0.0.1:5077/busybox:1", BUSYBOX, "linux/amd64"),),
        remote_sources=(RemoteSource("http://127.0.0.1:5078/remote.txt", REMOTE),),
        network_mode="host",
        layers=(
            layer(1, 1, "FROM 127.0.0.1:5077/busybox:1 AS base"),
            layer(2, 3, 'RUN --mount=type=secret,id=token echo "$GREETING" > /greeting'),
            layer(3, 4, "ADD http://127.0.0.1:5078/remote.txt /remote.txt"),
            layer(4, 5, "COPY file.txt /file.txt"),
        ),
    )
    values.update(changes)
    return BuildRecord(**values)


def keys(value) -> object:
    """The layout of a JSON value: dict keys in order, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return [(k, keys(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return None


def test_min_matches_buildkit_v013_request_materials_and_layout():
    ours = provenance_predicate(the_recorded_build(), ProvenanceOptions("min"))
    theirs = recorded("local-provenance-min.json")["predicate"]
    assert _only_config_digest_added(ours, theirs)
    assert ours["materials"] == theirs["materials"]
    assert ours["invocation"]["parameters"] == theirs["invocation"]["parameters"]
    assert ours["invocation"]["environment"] == theirs["invocation"]["environment"]
    assert ours["metadata"]["completeness"] == theirs["metadata"]["completeness"]
    assert ours["buildType"] == theirs["buildType"] == "https://mobyproject.org/buildkit@v1"
    assert ours["metadata"]["https://mobyproject.org/buildkit@v1#metadata"] == {}
    assert ours["invocation"]["configSource"]["entryPoint"] == "Dockerfile"


def _only_config_digest_added(ours: dict, theirs: dict) -> bool:
    """pybuild adds the Buildfile's digest to configSource (documented); otherwise the layouts agree."""
    source = dict(ours["invocation"]["configSource"])
    assert source.pop("digest") == {
        "sha256": hashlib.sha256((RECORDED / "Dockerfile").read_bytes()).hexdigest()
    }
    trimmed = json.loads(json.dumps(ours))
    trimmed["invocation"]["configSource"] = source
    return keys(trimmed) == keys(theirs)


def test_max_matches_buildkit_v013_parameters_and_adds_source_and_steps():
    ours = provenance_predicate(the_recorded_build(), ProvenanceOptions("max"))
    theirs = recorded("local-provenance-max.json")["predicate"]
    assert list(ours) == list(theirs)
    assert ours["invocation"]["parameters"] == theirs["invocation"]["parameters"]
    assert keys(ours["invocation"]["parameters"]) == keys(theirs["invocation"]["parameters"])  # and in order
    assert (
        ours["metadata"]["completeness"]
        == theirs["metadata"]["completeness"]
        == {
            "parameters": True,
            "environment": True,
            "materials": False,
        }
    )
    meta = ours["metadata"]["https://mobyproject.org/buildkit@v1#metadata"]
    theirs_meta = theirs["metadata"]["https://mobyproject.org/buildkit@v1#metadata"]
    assert list(meta) == list(theirs_meta) == ["source", "layers"]
    info = meta["source"]["infos"][0]
    assert (info["filename"], info["language"]) == ("Dockerfile", "Dockerfile")
    assert info["data"] == theirs_meta["source"]["infos"][0]["data"]  # the same file, the same base64
    lines = {
        step: loc["locations"][0]["ranges"][0]["start"]["line"]
        for step, loc in meta["source"]["locations"].items()
    }
    assert lines == {"step0": 1, "step1": 3, "step2": 4, "step3": 5}
    steps = ours["buildConfig"]["llbDefinition"]
    assert [s["id"] for s in steps] == ["step0", "step1", "step2", "step3"]
    assert [s.get("inputs") for s in steps] == [None, ["step0:0"], ["step1:0"], ["step2:0"]]
    assert steps[1]["op"]["instruction"].startswith("RUN --mount=type=secret")
    # each step's chain: the image's layers up to it, as blob descriptors, as BuildKit's layers map
    assert [len(meta["layers"][f"step{i}:0"][0]) for i in range(4)] == [1, 2, 3, 4]
    assert meta["layers"]["step3:0"][0][3] == {"mediaType": GZIP, "digest": "sha256:" + "4" * 64, "size": 104}
    assert keys(meta["layers"]) and keys(theirs_meta["layers"]["step0:0"]) == keys(meta["layers"]["step0:0"])


def test_layers_without_blobs_leave_their_steps_out_of_the_layers_map():
    record = the_recorded_build(
        layers=(layer(1, 1, "FROM busybox"), layer(2, 3, "RUN x", blob=False), layer(3, 4, "RUN y"))
    )
    meta = provenance_predicate(record, ProvenanceOptions("max"))["metadata"]
    assert list(meta["https://mobyproject.org/buildkit@v1#metadata"]["layers"]) == ["step0:0"]


def test_target_labels_ssh_and_required_secrets_as_buildkit_records_them():
    text = (RECORDED / "build.df").read_bytes()
    record = the_recorded_build(
        buildfile_name="build.df",
        buildfile_text=text,
        buildfile_digest="sha256:" + hashlib.sha256(text).hexdigest(),
        build_args={"X": "1"},
        labels={"lab": "1"},
        target="one",
        secrets=(SecretUse("tok2", optional=False),),
        ssh=(SshUse("deploy", optional=False),),
        remote_sources=(),
    )
    options = ProvenanceOptions("max", builder_id="https://ci.example/run/1")
    ours = provenance_predicate(record, options)
    theirs = recorded("local-provenance-max-target-ssh.json")["predicate"]
    assert ours["invocation"]["parameters"] == theirs["invocation"]["parameters"]
    assert keys(ours["invocation"]["parameters"]) == keys(theirs["invocation"]["parameters"])
    assert ours["builder"] == theirs["builder"] == {"id": "https://ci.example/run/1"}
    assert ours["invocation"]["configSource"]["entryPoint"] == "build.df"


def test_min_drops_args_labels_secrets_and_says_parameters_are_incomplete():
    record = the_recorded_build(labels={"a": "b"}, ssh=(SshUse("default"),), target="base")
    params = provenance_predicate(record, ProvenanceOptions("min"))["invocation"]["parameters"]
    assert params["args"] == {"force-network-mode": "host", "target": "base"}
    assert "secrets" not in params and "ssh" not in params
    bare = the_recorded_build(build_args={}, secrets=())
    meta = provenance_predicate(bare, ProvenanceOptions("min"))["metadata"]
    assert meta["completeness"]["parameters"] is True  # as the recorded push-min: nothing left out
    assert recorded("push-min-provenance.intoto.json")["predicate"]["metadata"]["completeness"]["parameters"]


def test_secret_values_paths_and_variables_appear_nowhere(tmp_path, monkeypatch):
    from builder.mounts.secrets import parse_secret

    value = "s3cr3t-VALUE-0xdeadbeef"
    secret_file = tmp_path / "token.txt"
    secret_file.write_text(value)
    monkeypatch.setenv("API_TOKEN_VAR", value + "-env")
    sources = [parse_secret(f"id=token,src={secret_file}"), parse_secret("id=api,env=API_TOKEN_VAR")]
    uses = tuple(SecretUse(s.id) for s in sources)
    for version in ("v0.2", "v1"):
        for mode in ("min", "max"):
            statement = provenance_statement(
                the_recorded_build(secrets=uses), ProvenanceOptions(mode, version=version)
            )
            for data in (statement.to_bytes(), statement.to_indented_bytes()):
                assert value.encode() not in data
                assert str(secret_file).encode() not in data
                assert b"API_TOKEN_VAR" not in data
                assert (b'"id":"token"' in data or b'"id": "token"' in data) == (mode == "max")


def test_materials_list_every_base_by_digest_and_remote_sources():
    record = the_recorded_build(
        base_images=(
            BaseImage("debian:bookworm", "sha256:" + "a" * 64, "linux/arm64/v8"),
            BaseImage("ghcr.io/o/tool@sha256:" + "b" * 64, "sha256:" + "b" * 64, "linux/amd64"),
        ),
        remote_sources=(
            RemoteSource("http://example.test/f.tgz", "sha256:" + "c" * 64),
            RemoteSource("https://example.test/repo.git#main", "sha1:" + "d" * 40, kind="git"),
        ),
    )
    materials = provenance_predicate(record, ProvenanceOptions())["materials"]
    assert materials == [
        {"uri": "pkg:docker/debian@bookworm?platform=linux%2Farm64", "digest": {"sha256": "a" * 64}},
        {
            "uri": "pkg:docker/ghcr.io/o/tool?digest=sha256:" + "b" * 64 + "&platform=linux%2Famd64",
            "digest": {"sha256": "b" * 64},
        },
        {"uri": "https://example.test/repo.git#main", "digest": {"sha1": "d" * 40}},
        {"uri": "http://example.test/f.tgz", "digest": {"sha256": "c" * 64}},
    ]
    v1 = provenance_predicate(record, ProvenanceOptions(version="v1"))
    assert v1["buildDefinition"]["resolvedDependencies"] == materials


def test_times_are_clamped_under_source_date_epoch():
    epoch = 1700000000
    for version, started_key, finished_key in (
        ("v0.2", "buildStartedOn", "buildFinishedOn"),
        ("v1", "startedOn", "finishedOn"),
    ):
        options = ProvenanceOptions(version=version)
        clamped = provenance_predicate(the_recorded_build(epoch=epoch), options)
        free = provenance_predicate(the_recorded_build(), options)
        meta = clamped["metadata"] if version == "v0.2" else clamped["runDetails"]["metadata"]
        free_meta = free["metadata"] if version == "v0.2" else free["runDetails"]["metadata"]
        assert meta[started_key] == meta[finished_key] == "2023-11-14T22:13:20Z"
        assert free_meta[started_key] == "2026-12-06T03:36:40.819614Z"
        assert free_meta[finished_key] == "2026-12-06T03:36:41.104056Z"
    # a build that ended before the epoch keeps its times
    early = the_recorded_build(epoch=int(FINISHED.timestamp()) + 3600)
    assert provenance_predicate(early, ProvenanceOptions())["metadata"]["buildFinishedOn"] == go_time(FINISHED)


def test_go_time_is_rfc3339_with_trimmed_fraction():
    assert go_time(datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2023-01-02T03:04:05Z"
    assert go_time(datetime(2023, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2023-01-02T03:04:05.12Z"


@pytest.mark.parametrize("mode", ["min", "max"])
def test_v1_layout_is_buildkits_slsa1(mode):
    predicate = provenance_predicate(the_recorded_build(), ProvenanceOptions(mode, version="v1"))
    definition, run = predicate["buildDefinition"], predicate["runDetails"]
    assert list(predicate) == ["buildDefinition", "runDetails"]
    assert list(definition) == ["buildType", "resolvedDependencies", "externalParameters", "internalParameters"]
    assert definition["buildType"] == BUILD_TYPE_V1
    assert definition["externalParameters"]["configSource"]["path"] == "Dockerfile"
    request = definition["externalParameters"]["request"]
    assert request["frontend"] == "dockerfile.v0"
    assert ("secrets" in request) == (mode == "max")
    assert ("build-arg:GREETING" in request["args"]) == (mode == "max")
    internal = definition["internalParameters"]
    assert internal["builderPlatform"] == "linux/amd64"
    assert json.dumps(internal) == json.dumps(internal, sort_keys=True)  # BuildKit re-marshals it as a map
    assert ("buildConfig" in internal) == (mode == "max")
    assert list(run) == ["builder", "metadata"]
    assert list(run["metadata"]) == [
        "invocationId",
        "startedOn",
        "finishedOn",
        "buildkit_metadata",
        "buildkit_completeness",
    ]
    assert run["metadata"]["buildkit_completeness"] == {"request": mode == "max", "resolvedDependencies": False}
    assert ("source" in run["metadata"]["buildkit_metadata"]) == (mode == "max")
    statement = provenance_statement(the_recorded_build(), ProvenanceOptions(mode, version="v1"))
    assert statement.predicate_type == PREDICATE_V1 == "https://slsa.dev/provenance/v1"


def test_remote_context_is_the_config_source_and_completes_materials():
    context = RemoteSource("https://example.test/app.git#v1", "sha1:" + "e" * 40, kind="git")
    record = the_recorded_build(remote_context=context, remote_sources=(context,), network_access=False)
    predicate = provenance_predicate(record, ProvenanceOptions())
    assert predicate["invocation"]["configSource"] == {
        "uri": "https://example.test/app.git#v1",
        "digest": {"sha1": "e" * 40},
        "entryPoint": "Dockerfile",
    }
    assert "locals" not in predicate["invocation"]["parameters"]
    assert predicate["metadata"]["completeness"]["materials"] is True
    assert predicate["metadata"]["https://mobyproject.org/buildkit@v1#hermetic"] is True


def test_statement_bytes_are_deterministic_and_carry_the_subject():
    subject = Subject("pkg:docker/127.0.0.1%3A5077/app@max?platform=linux%2Famd64", "4e" * 32)
    one = provenance_statement(the_recorded_build(), ProvenanceOptions("max"), (subject,))
    two = provenance_statement(the_recorded_build(), ProvenanceOptions("max"), (subject,))
    assert one.to_bytes() == two.to_bytes()
    pushed = recorded("push-max-provenance.intoto.json")
    ours = json.loads(one.to_bytes())
    assert keys({k: v for k, v in ours.items() if k != "predicate"}) == keys(
        {k: v for k, v in pushed.items() if k != "predicate"}
    )
    assert ours["subject"] == [{"name": subject.name, "digest": {"sha256": "4e" * 32}}]
    assert ours["_type"] == pushed["_type"] == "https://in-toto.io/Statement/v0.1"


def test_options_are_checked():
    with pytest.raises(ValueError, match="mode"):
        ProvenanceOptions("full")
    with pytest.raises(ValueError, match="version"):
        ProvenanceOptions(version="v0.1")
