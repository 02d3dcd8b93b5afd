"""Provenance attestations in BuildKit's layout, through the CLI against a real registry, read back by skopeo
and umoci: pushed with the index (single and two platforms), in ``-o type=oci`` layouts, as files in
``-o type=local``, shown by ``pybuild inspect``; none with ``--provenance=false`` or
``BUILDX_NO_DEFAULT_ATTESTATIONS``. The layout's shape is BuildKit's as recorded in tests/attest/buildkit."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import tarfile
from pathlib import Path

import requests

from tests.build.conftest import write_context

RECORDED = Path(__file__).parents[1] / "attest" / "buildkit"
BUILDFILE = "FROM busybox:latest\nRUN echo hi > /hi\n"
SLSA = "https://slsa.dev/provenance/v0.2"


def _skopeo(*args: str) -> bytes:
    return subprocess.run(["skopeo", *args], capture_output=True, check=True).stdout


def _raw(ref: str) -> dict:
    return json.loads(_skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{ref}"))


def _blob(registry, repo: str, digest: str) -> bytes:
    response = requests.get(f"http://{registry.domain}/v2/{repo}/blobs/{digest}", timeout=10)
    response.raise_for_status()
    return response.content


def _check_layout(index: dict, registry, repo: str, name: str) -> list[dict]:
    """The images then the attestation manifests, each pointing at its image, shaped as BuildKit's; returns
    the statements, in the images' order."""
    recorded = json.loads((RECORDED / "index.json").read_bytes())["manifests"][1]
    images = [e for e in index["manifests"] if e["platform"]["os"] != "unknown"]
    attestations = index["manifests"][len(images) :]
    assert len(attestations) == len(images) and images
    statements = []
    for image, entry in zip(images, attestations, strict=True):
        assert entry["platform"] == recorded["platform"] == {"architecture": "unknown", "os": "unknown"}
        assert entry["annotations"] == {
            "vnd.docker.reference.digest": image["digest"],
            "vnd.docker.reference.type": "attestation-manifest",
        }
        assert entry.keys() == recorded.keys()
        manifest = _raw(f"{registry.domain}/{repo}@{entry['digest']}")
        expected = json.loads((RECORDED / "att-manifest.json").read_bytes())
        assert manifest["mediaType"] == expected["mediaType"]
        assert manifest["config"]["mediaType"] == expected["config"]["mediaType"]
        (layer,) = manifest["layers"]
        assert layer["mediaType"] == "application/vnd.in-toto+json"
        assert layer["annotations"] == {"in-toto.io/predicate-type": SLSA}
        config = json.loads(_blob(registry, repo, manifest["config"]["digest"]))
        assert config == {**json.loads((RECORDED / "att-config.json").read_bytes()), "rootfs": config["rootfs"]}
        assert config["rootfs"] == {"type": "layers", "diff_ids": [layer["digest"]]}
        statement = json.loads(_blob(registry, repo, layer["digest"]))
        platform = image["platform"]
        purl_platform = f"{platform['os']}%2F{platform['architecture']}"
        host, _, path = f"{registry.domain}/{repo}".partition("/")
        assert statement["subject"] == [
            {
                "name": f"pkg:docker/{host.replace(':', '%3A')}/{path}@{name}?platform={purl_platform}",
                "digest": {"sha256": image["digest"].removeprefix("sha256:")},
            }
        ]
        assert statement["predicateType"] == SLSA and statement["_type"] == "https://in-toto.io/Statement/v0.1"
        statements.append(statement)
    return statements


def test_push_with_provenance_makes_an_index_skopeo_and_umoci_still_read(cli, busybox, registry, tmp_path):
    ref = f"{registry.domain}/app/one:1"
    context = write_context(tmp_path / "ctx", BUILDFILE)
    busybox_digest = json.loads(cli("inspect", "busybox:latest").out)[0]["Digest"]
    out = cli("build", "--push", "-t", ref, str(context), env={"SOURCE_DATE_EPOCH": "1700000000"})
    index = _raw(ref)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [e["platform"]["os"] for e in index["manifests"]] == ["linux", "unknown"]
    (statement,) = _check_layout(index, registry, "app/one", "1")
    # the push reports the index, as buildx does
    assert f"pushing manifest for {ref}@" in out.err
    predicate = statement["predicate"]
    assert predicate["buildType"] == "https://mobyproject.org/buildkit@v1"
    assert [m["digest"]["sha256"] for m in predicate["materials"]] == [busybox_digest.removeprefix("sha256:")]
    assert predicate["materials"][0]["uri"] == "pkg:docker/busybox@latest?platform=linux%2Famd64"
    assert predicate["invocation"]["configSource"]["entryPoint"] == "Buildfile"
    assert predicate["metadata"]["buildFinishedOn"] == "2023-11-14T22:13:20Z"  # clamped to SOURCE_DATE_EPOCH
    # the platform image itself is untouched for clients that pick one platform
    layout = tmp_path / "layout"
    _skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{layout}:x")
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:x", str(bundle)], capture_output=True, check=True)
    assert (bundle / "rootfs" / "hi").read_text() == "hi\n"
    # and the store's name holds the same index: inspect lists the attestation
    shown = json.loads(cli("inspect", ref).out)[0]
    (attestation,) = shown["Attestations"]
    assert attestation["Digest"] == index["manifests"][1]["digest"]
    assert attestation["Reference"] == index["manifests"][0]["digest"] == shown["Digest"]
    assert attestation["PredicateTypes"] == [SLSA]
    assert cli("inspect", ref, "-f", "{{json .Attestations}}").out.strip() == json.dumps([attestation])


def test_no_attestation_with_provenance_false_or_no_default(cli, busybox, registry, tmp_path):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    plain = "application/vnd.oci.image.manifest.v1+json"
    cli("build", "--push", "--provenance=false", "-t", f"{registry.domain}/app/a:1", str(context))
    assert _raw(f"{registry.domain}/app/a:1")["mediaType"] == plain
    env = {"BUILDX_NO_DEFAULT_ATTESTATIONS": "1"}
    cli("build", "--push", "-t", f"{registry.domain}/app/b:1", str(context), env=env)
    assert _raw(f"{registry.domain}/app/b:1")["mediaType"] == plain
    # without a push, buildx's docker driver adds none either
    cli("build", "-t", "local:1", str(context))
    assert "Attestations" not in json.loads(cli("inspect", "local:1").out)[0]


def test_two_platforms_push_lists_images_then_their_attestations(cli, registry, tmp_path):
    ref = f"{registry.domain}/app/two:1"
    context = write_context(tmp_path / "ctx", "FROM scratch\nCOPY f /f\n", {"f": "x\n"})
    cli(
        "build",
        "--platform",
        "linux/amd64,linux/arm64",
        "--provenance=mode=min",
        "--push",
        "-t",
        ref,
        str(context),
    )
    index = _raw(ref)
    recorded = json.loads((RECORDED / "index-two.json").read_bytes())
    assert [e["platform"] for e in index["manifests"]] == [e["platform"] for e in recorded["manifests"]]
    statements = _check_layout(index, registry, "app/two", "1")
    # no base image: no materials, and BuildKit leaves the empty list out
    assert [s["predicate"].get("materials", []) for s in statements] == [[], []]
    arm = _skopeo("inspect", "--tls-verify=false", "--override-arch", "arm64", f"docker://{ref}")
    assert json.loads(arm)["Architecture"] == "arm64"


def test_local_output_writes_provenance_files_as_buildkit(cli, busybox, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM scratch\nCOPY f /f\n", {"f": "x\n"})
    one, two = tmp_path / "one", tmp_path / "two"
    cli("build", "--provenance=true", "-o", f"type=local,dest={one}", str(context))
    recorded = json.loads((RECORDED / "local-provenance.json").read_bytes())
    written = (one / "provenance.json").read_bytes()
    statement = json.loads(written)
    # the recorded build copied the same file: the same subject, and the same indented form
    assert statement["subject"] == recorded["subject"]
    assert written.startswith(b'{\n  "_type": "https://in-toto.io/Statement/v0.1",\n')
    assert stat.S_IMODE(os.stat(one / "provenance.json").st_mode) == 0o600
    assert sorted(os.listdir(one)) == ["f", "provenance.json"]
    cli(
        "build",
        "--provenance=true",
        "--platform",
        "linux/amd64,linux/arm64",
        "-o",
        f"type=local,dest={two}",
        str(context),
    )
    for slug in ("linux_amd64", "linux_arm64"):
        assert sorted(os.listdir(two / slug)) == ["f", "provenance.json"]
    # a tar output holds the same files, as BuildKit's tar exporter writes them
    archive = tmp_path / "out.tar"
    cli("build", "--provenance=true", "-o", f"type=tar,dest={archive}", str(context))
    with tarfile.open(archive) as tar:
        members = {member.name: member for member in tar.getmembers()}
        assert sorted(members) == ["f", "provenance.json"] and members["provenance.json"].mode == 0o600
        assert json.load(tar.extractfile("provenance.json"))["subject"] == recorded["subject"]
    # default provenance is inline-only: never written to local files
    three = tmp_path / "three"
    cli("build", "-o", f"type=local,dest={three}", str(context))
    assert os.listdir(three) == ["f"]


def test_oci_layout_holds_the_attestations(cli, busybox, tmp_path):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    layout = tmp_path / "layout"
    cli(
        "build", "--provenance=mode=max", "-t", "app:1", "-o", f"type=oci,dest={layout},tar=false", str(context)
    )
    (top,) = json.loads((layout / "index.json").read_bytes())["manifests"]
    nested = json.loads((layout / "blobs" / "sha256" / top["digest"].removeprefix("sha256:")).read_bytes())
    attestation = nested["manifests"][1]
    assert attestation["annotations"]["vnd.docker.reference.type"] == "attestation-manifest"
    manifest = json.loads(
        (layout / "blobs" / "sha256" / attestation["digest"].removeprefix("sha256:")).read_bytes()
    )
    statement = json.loads((layout / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]).read_bytes())
    assert statement["predicate"]["metadata"]["completeness"]["parameters"] is True  # mode=max
    # skopeo reads the layout (the image of this platform), and umoci unpacks what it copies out
    flat = tmp_path / "flat"
    _skopeo("copy", f"oci:{layout}:1", f"oci:{flat}:x")
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{flat}:x", str(bundle)], capture_output=True, check=True)
    assert (bundle / "rootfs" / "hi").read_text() == "hi\n"
    # pybuild load keeps the attestations with the index
    other = tmp_path / "other-store"
    cli("--root", str(other), "load", "-i", str(layout))
    shown = json.loads(cli("--root", str(other), "inspect", "app:1").out)[0]
    assert shown["Attestations"][0]["Digest"] == attestation["digest"]


def test_max_v1_provenance_names_build_args_never_secrets(cli, busybox, tmp_path):
    buildfile = (
        "FROM busybox:latest\nARG FOO\nRUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c > /n\n"
    )
    context = write_context(tmp_path / "ctx", buildfile)
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-value-never-attested")
    layout = tmp_path / "layout"
    cli(
        "build", "--provenance=mode=max,version=v1", "--build-arg", "FOO=bar",
        "--secret", f"id=tok,src={secret}", "-t", "app:1",
        "-o", f"type=oci,dest={layout},tar=false", str(context),
    )  # fmt: skip
    shown = json.loads(cli("inspect", "app:1").out)[0]
    (attestation,) = shown["Attestations"]
    assert attestation["PredicateTypes"] == ["https://slsa.dev/provenance/v1"]
    digest = attestation["Statements"][0]["Digest"].removeprefix("sha256:")
    body = (layout / "blobs" / "sha256" / digest).read_bytes()
    statement = json.loads(body)
    # BuildKit writes the v0.1 statement type for SLSA v1 provenance too (builder.attest.intoto)
    assert statement["_type"] == "https://in-toto.io/Statement/v0.1"
    external = statement["predicate"]["buildDefinition"]["externalParameters"]
    assert external["request"]["args"] == {"build-arg:FOO": "bar"}  # as BuildKit's v1 provenance nests them
    for blob in (layout / "blobs" / "sha256").iterdir():
        assert b"s3cr3t-value-never-attested" not in blob.read_bytes()


DPKG_STATUS = """\
Package: python3
Status: install ok installed
Priority: optional
Section: python
Installed-Size: 92
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Multi-Arch: allowed
Source: python3-defaults
Version: 3.11.2-1+b1
Description: interactive high-level object-oriented language (default version)

"""


def test_sbom_of_a_debian_style_image_lists_its_packages_and_provenance_its_base(cli, busybox, tmp_path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox:latest\n"
        "COPY status /var/lib/dpkg/status\n"
        "COPY os-release /etc/os-release\n"
        "RUN mkdir -p /var/lib/dpkg/info && echo /usr/bin/python3 > /var/lib/dpkg/info/python3.list\n",
        {"status": DPKG_STATUS, "os-release": 'ID=debian\nVERSION_ID="12"\n'},
    )
    out = tmp_path / "out"
    cli("build", "--sbom=true", "--provenance=mode=min", "-o", f"type=local,dest={out}", str(context))
    sbom = json.loads((out / "sbom.spdx.json").read_text())
    assert sbom["predicateType"] == "https://spdx.dev/Document"
    (python3,) = [p for p in sbom["predicate"]["packages"] if p["name"] == "python3"]
    assert python3["versionInfo"] == "3.11.2-1+b1"
    purls = [r["referenceLocator"] for r in python3.get("externalRefs", []) if r["referenceType"] == "purl"]
    assert purls and purls[0].startswith("pkg:deb/debian/python3@3.11.2-1%2Bb1")
    provenance = json.loads((out / "provenance.json").read_text())
    busybox_digest = json.loads(cli("inspect", "busybox:latest").out)[0]["Digest"]
    materials = provenance["predicate"]["materials"]
    assert [m["digest"]["sha256"] for m in materials] == [busybox_digest.removeprefix("sha256:")]


RECORDED = Path(__file__).parents[1] / "attest" / "buildkit"


def _normalised(text: str, domain: str) -> str:
    """A rendering with what differs between runs made constant: the registry's address and the times."""
    text = text.replace(domain, "REGISTRY").replace(domain.replace(":", "-"), "REGISTRY")
    return re.sub(r'"(created|buildStartedOn|buildFinishedOn)": "[^"]*"', r'"\1": "T"', text)


def test_pybuild_reads_its_sbom_as_buildx_read_it(cli, busybox, registry, tmp_path):
    """`tests/attest/buildkit/buildx-reads-pybuild-sbom.txt` holds what buildx 0.13 printed for this build's
    SBOM (`imagetools inspect --format '{{json .SBOM}}'`, checked by hand with the reference, pushed to a
    registry at 127.0.0.1:48199); pybuild's own inspect of the same build prints the same document."""
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox:latest\nCOPY status /var/lib/dpkg/status\nRUN echo hi > /hi\n",
        {
            "status": "Package: python3\nStatus: install ok installed\nArchitecture: amd64\n"
            "Version: 3.11.2-1+b1\n\n"
        },
    )
    ref = f"{registry.domain}/pybuild/sbom:1"
    cli("build", "--sbom=true", "--provenance=false", "--push", "-t", ref, str(context))
    ours = json.loads(cli("imagetools", "inspect", ref, "--format", "{{json .SBOM}}").out)
    recorded = json.loads((RECORDED / "buildx-reads-pybuild-sbom.txt").read_text().split("----")[0])
    ours_text = _normalised(json.dumps(ours, sort_keys=True), registry.domain)
    theirs_text = _normalised(json.dumps(recorded, sort_keys=True), "127.0.0.1:48199")
    ours_doc, theirs_doc = json.loads(ours_text)["SPDX"], json.loads(theirs_text)["SPDX"]
    # the namespace ends in the image's digest, which the base image (a test fixture) decides
    ours_doc.pop("documentNamespace"), theirs_doc.pop("documentNamespace")
    assert ours_doc == theirs_doc
