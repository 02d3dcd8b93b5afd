"""``pybuild imagetools create|inspect`` against a real registry: two single-platform pushes, as two CI
runners would make them, merged into one index with both attestation manifests (copied across repositories),
``--dry-run`` and ``--append``, and ``inspect`` in buildx's forms."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.build.conftest import write_context


def _raw(ref: str) -> dict:
    out = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"], capture_output=True, check=True
    ).stdout
    return json.loads(out)


@pytest.fixture
def two_pushes(cli, registry, tmp_path) -> tuple[str, str]:
    """An amd64 and an arm64 image, each pushed with provenance to its own repository (as two runners
    would), by two stores."""
    context = write_context(tmp_path / "ctx", "FROM scratch\nCOPY f /f\n", {"f": "x\n"})
    refs = []
    for arch in ("amd64", "arm64"):
        ref = f"{registry.domain}/ci/{arch}:1"
        cli(
            "--root",
            str(tmp_path / arch),
            "build",
            "--platform",
            f"linux/{arch}",
            "--push",
            "-t",
            ref,
            str(context),
        )
        refs.append(ref)
    return refs[0], refs[1]


def test_create_merges_two_pushes_with_their_attestations(cli, registry, two_pushes, tmp_path):
    amd, arm = two_pushes
    target = f"{registry.domain}/app/multi:1"
    dry = cli("imagetools", "create", "--dry-run", "-t", target, amd, arm).out
    planned = json.loads(dry)
    assert dry.startswith('{\n  "schemaVersion": 2,\n  "mediaType": "application/vnd.oci.image.index.v1+json",')
    expected = _raw(amd)["manifests"] + _raw(arm)["manifests"]
    assert planned["manifests"] == expected
    with pytest.raises(subprocess.CalledProcessError):
        _raw(target)  # a dry run pushes nothing
    cli("imagetools", "create", "-t", target, amd, arm)
    index = _raw(target)
    assert index == planned
    platforms = [f"{e['platform']['os']}/{e['platform']['architecture']}" for e in index["manifests"]]
    assert platforms == ["linux/amd64", "unknown/unknown", "linux/arm64", "unknown/unknown"]
    assert (
        index["manifests"][3]["annotations"]["vnd.docker.reference.digest"] == index["manifests"][2]["digest"]
    )
    # every manifest and blob is in the target repository: skopeo copies each platform from it
    for arch in ("amd64", "arm64"):
        layout = tmp_path / f"layout-{arch}"
        subprocess.run(
            [
                "skopeo",
                "copy",
                "--src-tls-verify=false",
                "--override-arch",
                arch,
                f"docker://{target}",
                f"oci:{layout}:x",
            ],
            capture_output=True,
            check=True,
        )
    # provenance per platform, in buildx's --format form
    provenance = json.loads(cli("imagetools", "inspect", target, "--format", "{{json .Provenance}}").out)
    assert sorted(provenance) == ["linux/amd64", "linux/arm64"]
    assert provenance["linux/arm64"]["SLSA"]["buildType"] == "https://mobyproject.org/buildkit@v1"
    raw = cli("imagetools", "inspect", "--raw", target).out
    assert json.loads(raw) == index
    text = cli("imagetools", "inspect", target).out
    assert text.startswith(f"Name:      {target}\nMediaType: application/vnd.oci.image.index.v1+json\n")
    assert "  Platform:    unknown/unknown\n  Annotations: \n    vnd.docker.reference.digest: " in text


def test_append_adds_to_the_index_at_the_tag(cli, registry, two_pushes):
    amd, arm = two_pushes
    target = f"{registry.domain}/app/grown:1"
    cli("imagetools", "create", "-t", target, amd)
    assert len(_raw(target)["manifests"]) == 2
    cli("imagetools", "create", "--append", "-t", target, arm)
    index = _raw(target)
    assert [e["digest"] for e in index["manifests"]] == [
        e["digest"] for e in _raw(amd)["manifests"] + _raw(arm)["manifests"]
    ]


def test_create_from_plain_images_states_their_platforms(cli, registry, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM scratch\nCOPY f /f\n", {"f": "y\n"})
    refs = []
    for arch in ("amd64", "arm64"):
        ref = f"{registry.domain}/plain/{arch}:1"
        cli("build", "--platform", f"linux/{arch}", "--provenance=false", "--push", "-t", ref, str(context))
        refs.append(ref)
    index = json.loads(
        cli("imagetools", "create", "--dry-run", "-t", f"{registry.domain}/plain/all:1", *refs).out
    )
    assert [e["platform"] for e in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    missing = cli(
        "imagetools",
        "create",
        "-t",
        f"{registry.domain}/plain/all:1",
        f"{registry.domain}/no/such:1",
        check=False,
    )
    assert missing.returncode != 0 and "Traceback" not in missing.err


def test_create_copies_across_registries(cli, registry, two_pushes, tmp_path):
    from tests.registry.servers import Registry

    other = Registry(tmp_path / "other-registry")
    try:
        amd, arm = two_pushes
        target = f"{other.domain}/mirror/multi:1"
        cli("imagetools", "create", "-t", target, amd, arm)
        index = _raw(target)
        assert [e["digest"] for e in index["manifests"]] == [
            e["digest"] for e in _raw(amd)["manifests"] + _raw(arm)["manifests"]
        ]
        for entry in index["manifests"]:  # every manifest (attestations too) and its blobs are there
            repo = f"{other.domain}/mirror/multi@{entry['digest']}"
            subprocess.run(
                ["skopeo", "copy", "--src-tls-verify=false", f"docker://{repo}", f"oci:{tmp_path / 'copy'}:x"],
                capture_output=True,
                check=True,
            )
    finally:
        other.stop()
