"""Image references as package URLs, as BuildKit v0.13 formats them (its RefToPURL table, and what it wrote)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.attest.imagepurl import image_purl, normalize_platform

DGST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.mark.parametrize(
    ("ref", "platform", "expected"),
    [
        ("alpine", None, "pkg:docker/alpine@latest"),
        ("library/alpine:3.15", None, "pkg:docker/alpine@3.15"),
        ("docker.io/library/alpine:latest", None, "pkg:docker/alpine@latest"),
        ("docker.io/library/alpine:latest@" + DGST, None, "pkg:docker/alpine@latest?digest=" + DGST),
        ("docker.io/library/alpine@" + DGST, None, "pkg:docker/alpine?digest=" + DGST),
        ("user/test:v2", None, "pkg:docker/user/test@v2"),
        ("ghcr.io/foo/bar:v2", None, "pkg:docker/ghcr.io/foo/bar@v2"),
        ("ghcr.io/foo/bar", None, "pkg:docker/ghcr.io/foo/bar@latest"),
        ("busybox", "linux/amd64", "pkg:docker/busybox@latest?platform=linux%2Famd64"),
        ("busybox@" + DGST, "linux/amd64", "pkg:docker/busybox?digest=" + DGST + "&platform=linux%2Famd64"),
        ("localhost:5000/a/b:1", "linux/arm64/v8", "pkg:docker/localhost%3A5000/a/b@1?platform=linux%2Farm64"),
    ],
)
def test_buildkits_table(ref, platform, expected):
    assert image_purl(ref, platform) == expected


def test_what_buildkit_wrote_for_a_registry_on_a_port():
    predicate = json.loads((Path(__file__).parent / "recorded" / "local-provenance-min.json").read_bytes())
    assert (
        image_purl("127.0.0.1:5077/busybox:1", "linux/amd64") == predicate["predicate"]["materials"][0]["uri"]
    )


def test_local_images_are_oci_purls():
    assert image_purl("app:1", None, local=True) == "pkg:oci/app@1"


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/riscv64", "linux/riscv64"),
    ],
)
def test_platforms_are_normalised_as_containerd_does(given, normal):
    assert normalize_platform(given) == normal
