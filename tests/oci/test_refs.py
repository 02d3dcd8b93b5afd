"""Image reference parsing and normalisation, checked against what Docker does with the same strings."""

from __future__ import annotations

import pytest

from builder.refs import ImageRef, RefError, familiar, looks_like_id, parse_ref

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "full", "short"),
    [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("ghcr.io/o/app:v1.2", "ghcr.io/o/app:v1.2", "ghcr.io/o/app:v1.2"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest", "127.0.0.1:5000/app:latest"),
        ("[::1]:5000/app:x", "[::1]:5000/app:x", "[::1]:5000/app:x"),
        ("Registry.Example/app", "Registry.Example/app:latest", "Registry.Example/app:latest"),
        ("a_b__c-d---e/f.g_h", "docker.io/a_b__c-d---e/f.g_h:latest", "a_b__c-d---e/f.g_h:latest"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}", f"busybox@{DIGEST}"),
        (f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}", f"busybox:1@{DIGEST}"),
        ("app:" + "t" * 128, "docker.io/library/app:" + "t" * 128, "app:" + "t" * 128),
    ],
)
def test_normalises_like_docker(text: str, full: str, short: str) -> None:
    ref = parse_ref(text)
    assert str(ref) == full
    assert ref.familiar() == short


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty image name"),
        ("Busybox", "repository name (library/Busybox) must be lowercase"),
        ("user/App", "must be lowercase"),
        ("ab" * 32, "cannot specify 64-byte hexadecimal strings"),
        ("busy box", "invalid reference format"),
        ("busybox:", "invalid reference format"),
        ("busybox:-x", "invalid reference format"),
        ("app:" + "t" * 129, "invalid reference format"),
        ("a//b", "invalid reference format"),
        ("_app", "invalid reference format"),
        ("app-", "invalid reference format"),
        ("busybox@sha256:abc", "invalid reference format"),
        ("busybox@sha256:" + "z" * 64, "invalid reference format"),
        ("x/" * 130 + "y", "not be more than 255 characters"),
    ],
)
def test_rejects_malformed_references(text: str, message: str) -> None:
    with pytest.raises(RefError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        parse_ref(text)
    assert info.value.exit_code == 2


def test_digest_reference_has_no_tag_and_no_tag_key() -> None:
    ref = parse_ref(f"busybox@{DIGEST}")
    assert ref.tag is None and ref.digest == DIGEST
    with pytest.raises(RefError, match="has no tag"):
        ref.tag_key  # noqa: B018


def test_default_tag_can_be_left_off() -> None:
    assert parse_ref("app", default_tag=False).tag is None
    assert parse_ref("app:2", default_tag=False).tag == "2"


def test_tag_key_and_with_tag() -> None:
    ref = parse_ref("busybox:1")
    assert ref.tag_key == "docker.io/library/busybox:1"
    assert ref.with_tag("2") == ImageRef("docker.io", "library/busybox", "2")
    with pytest.raises(RefError):
        ref.with_tag("bad tag")
    assert familiar("docker.io/library/busybox:1") == "busybox:1"
    assert familiar("ghcr.io/o/a:1") == "ghcr.io/o/a:1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (DIGEST, True),
        ("ab" * 32, True),
        ("abcd", True),
        ("sha256:abcd12", True),
        ("abc", False),
        ("app", False),
    ],
)
def test_looks_like_id(text: str, expected: bool) -> None:
    assert looks_like_id(text) is expected
