"""A context that points outside itself: symlinks are copied as symlinks, sources that resolve outside the
context resolve inside it instead (as BuildKit does), and nothing outside the context is ever read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hardening.conftest import write_context

SECRET = "TOPSECRET-outside-the-context"


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A context beside a secret file, with links to it and to its parent directory."""
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "secretdir").mkdir()
    (tmp_path / "secretdir" / "key").write_text(SECRET)
    ctx = write_context(tmp_path / "ctx", "", {"ok.txt": "fine\n"})
    os.symlink(tmp_path / "secret.txt", ctx / "abslink")
    os.symlink("../secret.txt", ctx / "rellink")
    os.symlink("..", ctx / "uplink")
    os.symlink(tmp_path / "secretdir", ctx / "dirlink")
    return ctx


def _secret_in_store(root: Path) -> list[str]:
    """Unpacked layers holding the secret (layers are plain trees; blobs are compressed, so check these)."""
    found = []
    for dirpath, _, files in os.walk(root / "layers"):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    if SECRET.encode() in f.read():
                        found.append(path)
    return found


def test_symlinks_in_the_context_are_copied_as_symlinks(cli, hostile):
    (hostile / "Buildfile").write_text("FROM busybox\nCOPY . /ctx/\n")
    cli("build", "-t", "ctx:1", str(hostile))
    listing = cli(
        "run", "ctx:1", "sh", "-c", "for f in abslink rellink uplink dirlink; do readlink /ctx/$f; done"
    ).out
    assert listing.split() == [
        str(hostile.parent / "secret.txt"),
        "../secret.txt",
        "..",
        str(hostile.parent / "secretdir"),
    ]
    assert cli("run", "ctx:1", "cat", "/ctx/ok.txt").out == "fine\n"
    assert _secret_in_store(cli.root) == []


@pytest.mark.parametrize(
    "source", ["../secret.txt", "../../secret.txt", "abslink", "rellink", "uplink/secret.txt", "dirlink/key"]
)
def test_sources_resolving_outside_resolve_inside_the_context(cli, hostile, source):
    (hostile / "Buildfile").write_text(f"FROM busybox\nCOPY {source} /got\n")
    missing = cli("build", str(hostile), check=False)
    # Nothing named like that exists inside the context, so the step fails: it never reads the outside file.
    assert missing.returncode == 1, missing.err
    assert "Traceback" not in missing.err and SECRET not in missing.err + missing.out
    assert _secret_in_store(cli.root) == []


def test_outside_paths_map_to_the_context_root(cli, hostile):
    (hostile / "secret.txt").write_text("the context's own file\n")
    (hostile / "Buildfile").write_text("FROM busybox\nCOPY ../secret.txt /a\nCOPY uplink/secret.txt /b\n")
    cli("build", "-t", "mapped:1", str(hostile))
    assert cli("run", "mapped:1", "cat", "/a", "/b").out == "the context's own file\n" * 2
    assert _secret_in_store(cli.root) == []
