"""What pybuild writes and prints is shaped as BuildKit v0.13 and buildx 0.13 shape it, checked against their
own output recorded in tests/attest/buildkit/ (see its README): no registry or reference needed here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.attest.manifests import AttestedImage, image_purl
from builder.attest.request import AttestationRequest, ProvenanceRequest, SbomRequest, parse_attestations
from builder.commands.imagetools import summary
from builder.errors import UsageError
from builder.platforms import Platform
from builder.refs import parse_ref
from builder.registry.assemble import go_order, index_bytes

RECORDED = Path(__file__).parent / "buildkit"


def _recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def test_dry_run_index_is_serialised_byte_for_byte_as_buildx():
    recorded = _recorded("create-dryrun.txt")
    document = json.loads(recorded)
    document["manifests"] = [go_order(dict(reversed(list(e.items())))) for e in document["manifests"]]
    assert index_bytes(document) + b"\n" == recorded


def test_inspect_summary_is_buildx_text():
    index = json.loads(_recorded("index.json"))
    digest = "sha256:81a200f96b683959dacf3c76e2d8bb262b8efafdda8b1ec35c9c24940d909148"
    text = summary("127.0.0.1:5077/ref/one:1", index["mediaType"], digest, index)
    assert text + "\n" == _recorded("imagetools-inspect.txt").decode()


def test_subject_purl_is_buildkits():
    statement = json.loads(_recorded("provenance-statement.json"))
    image = AttestedImage(
        "sha256:" + statement["subject"][0]["digest"]["sha256"],
        Platform.parse("linux/amd64"),
        (parse_ref("127.0.0.1:5077/ref/one:1"),),
    )
    assert image.subjects() == statement["subject"]
    material = statement["predicate"]["materials"][0]["uri"]
    assert image_purl(parse_ref("127.0.0.1:5077/busybox:latest"), Platform.parse("linux/amd64")) == material
    assert image_purl(parse_ref("busybox"), Platform.parse("linux/arm/v7")) == (
        "pkg:docker/busybox@latest?platform=linux%2Farm%2Fv7"
    )


@pytest.mark.parametrize(
    ("provenance", "sbom", "attest", "pushing", "no_default", "expected"),
    [
        (None, None, [], False, None, AttestationRequest()),
        (None, None, [], True, None, AttestationRequest(ProvenanceRequest(inline_only=True))),
        (None, None, [], True, "1", AttestationRequest()),
        (None, None, [], True, "false", AttestationRequest(ProvenanceRequest(inline_only=True))),
        ("false", None, [], True, None, AttestationRequest()),
        ("true", None, [], False, None, AttestationRequest(ProvenanceRequest())),
        ("mode=max", None, [], False, None, AttestationRequest(ProvenanceRequest("max"))),
        ("mode=min,version=v1", None, [], False, None, AttestationRequest(ProvenanceRequest("min", "v1"))),
        (None, None, ["type=provenance,mode=max"], True, None, AttestationRequest(ProvenanceRequest("max"))),
        (None, None, ["type=provenance,disabled=true"], True, None, AttestationRequest()),
        (None, "true", [], False, None, AttestationRequest(None, SbomRequest())),
        (None, None, ["type=sbom"], False, None, AttestationRequest(None, SbomRequest())),
        (None, "true", [], True, None, AttestationRequest(ProvenanceRequest(inline_only=True), SbomRequest())),
    ],
)
def test_flags_make_the_request_buildx_would(provenance, sbom, attest, pushing, no_default, expected):
    made = parse_attestations(provenance, sbom, attest, pushing=pushing, no_default=no_default)
    assert made == expected


def test_sbom_scan_args_are_carried():
    made = parse_attestations(
        None,
        "true",
        [],
        pushing=False,
        build_args={"BUILDKIT_SBOM_SCAN_CONTEXT": "true", "BUILDKIT_SBOM_SCAN_STAGE": "builder"},
    )
    assert made.sbom == SbomRequest(scan_context=True, scan_stage="builder")


def test_sbom_generator_is_refused():
    with pytest.raises(UsageError, match="generator=img is not supported"):
        parse_attestations(None, "generator=img", [], pushing=False)


def test_an_unparsable_no_default_variable_is_an_error_when_it_matters():
    with pytest.raises(UsageError, match="invalid BUILDX_NO_DEFAULT_ATTESTATIONS"):
        parse_attestations(None, None, [], pushing=True, no_default="maybe")
    # an explicit request leaves the variable unread, as buildx
    made = parse_attestations("false", None, [], pushing=True, no_default="maybe")
    assert made == AttestationRequest()
