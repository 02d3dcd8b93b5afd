"""A context that points outside itself: symlinks are copied as symlinks, sources that lead outside the
context are refused with a located error, and nothing outside the context is ever read.

Refusing is a deliberate deviation from BuildKit (issue 9): BuildKit re-roots such sources inside the
context (``COPY ../x`` copies the context's ``x``; a link to ``/etc/passwd`` names the context's
``etc/passwd``). ``COPY --from`` reads an image's root filesystem and keeps BuildKit's rules.
"""

from __future__ import annotations

import os
import re
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
    ctx = write_context(tmp_path / "ctx", "", {"ok.txt": "fine\n", "sub/in.txt": "inside\n"})
    os.symlink(tmp_path / "secret.txt", ctx / "abslink")
    os.symlink("../secret.txt", ctx / "rellink")
    os.symlink("..", ctx / "uplink")
    os.symlink(tmp_path / "secretdir", ctx / "dirlink")
    os.symlink("sub/../..", ctx / "sneaky")
    os.symlink("ok.txt", ctx / "inlink")
    os.symlink("sub", ctx / "subzlink")
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
        "run", "ctx:1", "sh", "-c", "for f in abslink rellink uplink dirlink sneaky; do readlink /ctx/$f; done"
    ).out
    assert listing.split() == [
        str(hostile.parent / "secret.txt"),
        "../secret.txt",
        "..",
        str(hostile.parent / "secretdir"),
        "sub/../..",
    ]
    assert cli("run", "ctx:1", "cat", "/ctx/ok.txt").out == "fine\n"
    assert _secret_in_store(cli.root) == []


CLIMBING = ["../secret.txt", "../../secret.txt", "sub/../../secret.txt", "/../secret.txt", "../*.txt"]
THROUGH_LINKS = {
    "abslink": "abslink -> {outer}/secret.txt",
    "rellink": "rellink -> ../secret.txt",
    "uplink/secret.txt": "uplink -> ..",
    "dirlink/key": "dirlink -> {outer}/secretdir",
    "dirlink/*": "dirlink -> {outer}/secretdir",
    "sneaky/secret.txt": "sneaky -> sub/../..",
}


def _assert_refused(cli, ctx: Path, message: str) -> None:
    result = cli("build", str(ctx), check=False)
    assert result.returncode == 1, result.err
    assert re.search(r"Buildfile:2:1: error: ", result.err), result.err
    assert message in result.err, result.err
    assert "\n  ^" in result.err  # the offending line is shown with its caret
    assert "Traceback" not in result.err and SECRET not in result.err + result.out
    assert _secret_in_store(cli.root) == []


@pytest.mark.parametrize("keyword", ["COPY", "ADD"])
@pytest.mark.parametrize("source", CLIMBING)
def test_sources_climbing_above_the_context_are_refused(cli, hostile, source, keyword):
    (hostile / "Buildfile").write_text(f"FROM busybox\n{keyword} {source} /got\n")
    _assert_refused(cli, hostile, f'source "{source}" is outside the build context')


@pytest.mark.parametrize("keyword", ["COPY", "ADD"])
@pytest.mark.parametrize("source", THROUGH_LINKS)
def test_sources_through_symlinks_leading_outside_are_refused(cli, hostile, source, keyword):
    (hostile / "Buildfile").write_text(f"FROM busybox\n{keyword} {source} /got\n")
    via = THROUGH_LINKS[source].format(outer=hostile.parent)
    _assert_refused(cli, hostile, f'source "{source}" resolves outside the build context through symlink {via}')


def test_an_archive_outside_is_not_unpacked(cli, hostile):
    """ADD would unpack a tar it could reach through a link; the link is refused before anything is read."""
    import tarfile

    with tarfile.open(hostile.parent / "secretdir" / "loot.tar", "w") as tar:
        tar.add(hostile.parent / "secret.txt", arcname="secret.txt")
    (hostile / "Buildfile").write_text("FROM busybox\nADD dirlink/loot.tar /got/\n")
    _assert_refused(cli, hostile, "through symlink dirlink ->")


def test_paths_and_links_that_stay_inside_work(cli, hostile):
    (hostile / "Buildfile").write_text(
        "FROM busybox\nCOPY sub/../ok.txt /a\nCOPY inlink /b\nCOPY subzlink/in.txt /c\nCOPY /sub/./in.txt /d\n"
    )
    cli("build", "-t", "inside:1", str(hostile))
    assert cli("run", "inside:1", "cat", "/a", "/b", "/c", "/d").out == "fine\nfine\ninside\ninside\n"
    # a symlink source inside the context is followed, as BuildKit follows it: /b is a file
    assert cli("run", "inside:1", "sh", "-c", "test -f /b && ! test -L /b && echo file").out == "file\n"


def test_from_an_image_keeps_buildkits_rules(cli, hostile):
    """``--from`` reads a root filesystem: ``..`` stops at its ``/`` and absolute links resolve inside it."""
    (hostile / "Buildfile").write_text(
        "FROM busybox AS base\nRUN ln -s /etc/passwd /lnk && ln -s .. /etc/up\n"
        "FROM busybox\nCOPY --from=base ../../etc/passwd /a\nCOPY --from=base /lnk /b\n"
        "COPY --from=base /etc/up/etc/group /c\n"
    )
    cli("build", "-t", "fromimg:1", str(hostile))
    passwd = cli("run", "fromimg:1", "cat", "/etc/passwd").out
    group = cli("run", "fromimg:1", "cat", "/etc/group").out
    assert cli("run", "fromimg:1", "cat", "/a", "/b", "/c").out == passwd + passwd + group
