"""ADD's own flags: ``--unpack=false`` copies an archive as a file (and is part of the step's cache key),
``--checksum`` is refused for anything but one http(s) URL, with BuildKit's messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.copy.cases import Case, make_context, tar_bytes
from tests.copy.layers import image_layers

ARCHIVE = {"arc.tgz": ("gz", {"g/": "", "g/two": "2\n"})}


def _build(pybuild, context: Path, buildfile: str, *, check: bool = True):
    (context / "Buildfile").write_text(buildfile)
    return pybuild("-f", str(context / "Buildfile"), "-t", "addflags:1", str(context), check=check)


def test_unpack_false_copies_the_archive_and_keys_the_cache(pybuild, tmp_path: Path):
    context = make_context(Case("", archives=ARCHIVE), tmp_path)
    _build(
        pybuild, context, "FROM busybox:latest\nADD --unpack=false arc.tgz /x/\nADD --unpack=true arc.tgz /y/\n"
    )
    archive = tmp_path / "image.tar"
    pybuild("save", "addflags:1", "-o", str(archive))
    layers = image_layers(archive)
    assert [[e[0] for e in layer["entries"]] for layer in layers] == [
        ["x", "x/arc.tgz"],
        ["y", "y/g", "y/g/two"],
    ]
    assert (context / "arc.tgz").read_bytes() == tar_bytes(*ARCHIVE["arc.tgz"])

    # the same instruction without the flag unpacks: it must not reuse the layer of --unpack=false
    rebuilt = _build(pybuild, context, "FROM busybox:latest\nADD arc.tgz /x/\n")
    assert "CACHED" not in rebuilt.err
    pybuild("save", "addflags:1", "-o", str(archive))
    assert [e[0] for e in image_layers(archive)[0]["entries"]] == ["x", "x/g", "x/g/two"]


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ("local.txt", "checksum can't be specified for non-HTTP(S) sources"),
        ("https://example.invalid/repo.git", "checksum can't be specified for non-HTTP(S) sources"),
        ("http://127.0.0.1:9/a http://127.0.0.1:9/b", "checksum can't be specified for multiple sources"),
    ],
)
def test_checksum_needs_one_http_source(pybuild, tmp_path: Path, sources: str, message: str):
    context = make_context(Case("", files={"local.txt": "x\n"}), tmp_path)
    digest = "sha256:" + "0" * 64
    failed = _build(
        pybuild, context, f"FROM busybox:latest\nADD --checksum={digest} {sources} /d/\n", check=False
    )
    assert failed.returncode == 1
    assert f"Buildfile:2:1: error: {message}" in failed.err
