"""Two runners, one per platform — the arm64 one running its RUN under emulation — each push a
single-platform image with provenance; `pybuild imagetools create` merges them into one index that lists
both platforms with their attestation manifests, and inspecting it shows each platform's provenance."""

from __future__ import annotations

import json

from tests.build.conftest import Pybuild, write_context
from tests.multiplatform.test_push import registry, skopeo_raw  # noqa: F401 - the registry fixture

BUILDFILE = "FROM bb\nRUN uname -m > /arch\n"


def test_two_single_platform_pushes_merge_into_one_attested_index(mp, rootfs, tmp_path, registry):  # noqa: F811
    context = write_context(tmp_path / "ctx", BUILDFILE)
    pushed = []
    for arch in ("amd64", "arm64"):
        runner = Pybuild(tmp_path / f"runner-{arch}")  # a runner of its own: its own store
        runner("import", "--platform", f"linux/{arch}", str(rootfs[arch]), "bb")
        ref = f"{registry.domain}/ci/{arch}:1"
        runner("build", "--platform", f"linux/{arch}", "--push", "-t", ref, str(context))
        pushed.append(ref)
    target = f"{registry.domain}/ci/app:1"
    mp("imagetools", "create", "-t", target, *pushed)

    index = skopeo_raw(target)
    platforms = [f"{m['platform']['os']}/{m['platform']['architecture']}" for m in index["manifests"]]
    assert platforms == ["linux/amd64", "unknown/unknown", "linux/arm64", "unknown/unknown"]
    images = {m["digest"]: m for m in index["manifests"] if m["platform"]["os"] == "linux"}
    for attestation in (m for m in index["manifests"] if m["platform"]["os"] == "unknown"):
        annotations = attestation["annotations"]
        assert annotations["vnd.docker.reference.type"] == "attestation-manifest"
        assert annotations["vnd.docker.reference.digest"] in images

    shown = json.loads(mp("imagetools", "inspect", target, "--format", "{{json .Provenance}}").out)
    assert sorted(shown) == ["linux/amd64", "linux/arm64"]
    for provenance in shown.values():
        assert provenance["SLSA"]["buildType"] == "https://mobyproject.org/buildkit@v1"
    # the arm64 runner's RUN ran under emulation: its image says so
    arm = next(digest for digest, m in images.items() if m["platform"]["architecture"] == "arm64")
    mp("pull", f"{target}@{arm}")
    assert mp("run", "--rm", f"{target}@{arm}", "cat", "/arch").out.strip() == "aarch64"
