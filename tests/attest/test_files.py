"""The SBOM's view of an image's files: a directory read without leaving it, symlinks resolved inside the
image, and the store's layers merged as overlayfs merges them (whiteouts, opaque directories)."""

from __future__ import annotations

import os

import pytest

from builder.attest.files import DirectoryFiles, LayeredFiles, read_bytes, resolve, walk
from builder.layer.whiteouts import XATTR_OPAQUE, make_whiteout


def tree(root, entries: dict[str, str | None]) -> None:
    """Files (text), directories (None) and symlinks ("-> target") under ``root``."""
    for path, content in entries.items():
        full = root / path.lstrip("/")
        full.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            full.mkdir(exist_ok=True)
        elif content.startswith("-> "):
            full.symlink_to(content[3:])
        else:
            full.write_text(content)


def test_symlinks_resolve_inside_the_image_never_on_the_host(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host file")
    root = tmp_path / "root"
    tree(
        root,
        {
            "/usr/lib/os-release": "ID=debian\n",
            "/etc/os-release": "-> ../usr/lib/os-release",
            "/lib": "-> usr/lib",
            "/escape": "-> /../../../../" + str(outside).lstrip("/"),
            "/hostlink": "-> " + str(outside),
            "/loop": "-> loop",
        },
    )
    files = DirectoryFiles(root)
    assert resolve(files, "/etc/os-release") == "/usr/lib/os-release"
    assert read_bytes(files, "/lib/os-release") == b"ID=debian\n"
    # absolute and ../ targets stay in the image: the host's directory is not reachable
    assert read_bytes(files, "/escape/secret") is None
    assert read_bytes(files, "/hostlink/secret") is None
    assert resolve(files, "/loop") is None
    # the protocol itself never follows a link in the middle of a path
    assert files.lstat("/hostlink/secret") is None
    with pytest.raises(OSError):
        files.open("/hostlink/secret")


def test_walk_is_sorted_and_does_not_follow_directory_links(tmp_path):
    tree(tmp_path, {"/b/x": "1", "/a/y": "2", "/a/z": None, "/c": "-> a"})
    seen = [(d, subdirs, [n for n, _ in others]) for d, subdirs, others in walk(DirectoryFiles(tmp_path))]
    assert seen == [("/", ["a", "b"], ["c"]), ("/a", ["z"], ["y"]), ("/a/z", [], []), ("/b", [], ["x"])]


@pytest.mark.root
def test_layers_merge_with_whiteouts_and_opaque_directories(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    tree(
        lower,
        {
            "/etc/keep": "lower",
            "/etc/gone": "lower",
            "/etc/over": "lower",
            "/opt/old/a": "lower",
            "/var/lib/dpkg/status": "Package: a\n",
        },
    )
    tree(upper, {"/etc/over": "upper", "/etc/new": "upper", "/opt/old/b": "upper", "/var/lib": None})
    make_whiteout(os.fsencode(upper / "etc" / "gone"))
    make_whiteout(os.fsencode(upper / "var" / "lib" / "dpkg"))
    os.setxattr(upper / "opt" / "old", XATTR_OPAQUE, b"y")
    files = LayeredFiles([upper, lower])
    assert sorted(n for n, _ in files.scandir("/etc")) == ["keep", "new", "over"]
    assert read_bytes(files, "/etc/over") == b"upper"
    assert read_bytes(files, "/etc/keep") == b"lower"
    assert files.lstat("/etc/gone") is None
    assert [n for n, _ in files.scandir("/opt/old")] == ["b"]  # opaque: the lower a is hidden
    assert files.lstat("/opt/old/a") is None
    assert files.lstat("/var/lib/dpkg/status") is None  # a whited-out directory hides all below it
    assert files.scandir("/var/lib") == []
