"""Builds in each overlay mode, as root and as an unprivileged user: the same image as kernel overlayfs.

A Buildfile that deletes files, empties and remakes a directory, chowns and sets setuid bits, edits a file
with a second (hard) name, COPYs, makes a WORKDIR and runs a step as another user is built with
``PYBUILD_OVERLAY`` forced to each mode (its last step checks that the layers' whiteouts and opaque
directory hide what they should), and with the automatic choice while the kernel refuses overlayfs (a
``mount`` on PATH that refuses it: the fault injected). With ``SOURCE_DATE_EPOCH`` set after the base image
was made, what a step only copied up keeps its time, so the layers' diff_ids compare the modes' times too.

fuse-overlayfs in a user namespace opens /dev/fuse as the user: Debian's udev makes it 0666; machines
without udev (this one's is 0600) get it for the tests that need it, and the mode is put back after.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.rootless.conftest import REPO
from tests.rootless.trees import flattened
from tests.support.images import busybox_rootfs

BUILDFILE = """\
FROM busybox:latest
RUN mkdir -p /data/dir/sub /data/gone/x && echo a > /data/dir/a && echo b > /data/dir/sub/b \\
 && echo d > /data/del && echo g > /data/gone/x/g && echo o > /data/own && echo m > /data/mod \\
 && ln /data/mod /data/modlink && echo keep > /data/keep
RUN rm /data/del && rm -rf /data/dir && mkdir /data/dir && echo n > /data/dir/n && rm -rf /data/gone
RUN chown 1000:1000 /data/own && chmod 4755 /data/own && echo more >> /data/mod && chmod 640 /etc/passwd
COPY files/ /data/copied/
COPY --chown=1000:1000 one.txt /etc/one.txt
WORKDIR /app/work
RUN echo done > result && rm /etc/group && cat /data/keep /data/modlink /data/mod
USER 65534
RUN cat /data/keep > /tmp/seen-by-nobody && ! touch /data/keep 2>/dev/null \
 && test ! -e /data/dir/a && test ! -e /data/del && test ! -e /data/gone && test -f /data/dir/n
"""
FILES = {"files/a.txt": "a\n", "files/deep/b.txt": "b\n", "one.txt": "one\n"}
MODES = ["overlayfs", "fuse-overlayfs", "copy"]
#: A ``mount`` that refuses overlayfs and passes anything else on: the kernel refusal, injected.
REFUSING_MOUNT = """#!/bin/sh
case " $* " in *" -t overlay "*) echo "mount: overlay: permission denied (injected)" >&2; exit 32;; esac
exec /usr/bin/mount "$@"
"""


@pytest.fixture(scope="module")
def epoch(root_store) -> str:
    """A SOURCE_DATE_EPOCH later than every file of the base image, earlier than every step."""
    time.sleep(1.1)
    moment = int(time.time())
    time.sleep(1.1)
    return str(moment)


@pytest.fixture(scope="module")
def fuse_device():
    """/dev/fuse usable by every user for the module (as udev makes it); its mode restored after."""
    before = os.stat("/dev/fuse").st_mode & 0o777
    os.chmod("/dev/fuse", 0o666)
    yield
    os.chmod("/dev/fuse", before)


@pytest.fixture
def fuse_closed():
    """/dev/fuse usable by root only for the test (as on a machine without udev): no rootless fuse mount."""
    before = os.stat("/dev/fuse").st_mode & 0o777
    os.chmod("/dev/fuse", 0o600)
    yield
    os.chmod("/dev/fuse", before)


@pytest.fixture(scope="module")
def refusing_path(tmp_path_factory) -> str:
    """A PATH whose ``mount`` refuses overlayfs (world-readable, for the test user too)."""
    directory = tmp_path_factory.mktemp("refusing-bin")
    (directory / "mount").write_text(REFUSING_MOUNT)
    (directory / "mount").chmod(0o755)
    os.chmod(directory, 0o755)
    for parent in directory.parents:
        if parent == Path("/tmp"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o005)
    return f"{directory}:/usr/sbin:/usr/bin:/sbin:/bin"


def _archive_layers(archive: Path) -> list[str]:
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        return json.load(outer.extractfile(manifest["Config"]))["rootfs"]["diff_ids"]


@pytest.fixture(scope="module")
def root_store(tmp_path_factory, user) -> Path:
    work = tmp_path_factory.mktemp("modes")
    store = work / "store"
    _root(store, "import", str(busybox_rootfs(work / "busybox")), "busybox:latest")
    base = user.home / "busybox-modes.tar"
    _root(store, "save", "busybox:latest", "-o", str(base))
    user.give(base)
    user.pybuild("load", "-i", str(base))
    return store


def _root(store: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "builder", "--root", str(store), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f"pybuild {' '.join(args)} as root failed:\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def context(user) -> Path:
    return user.write_context("ctx-modes", BUILDFILE, FILES)


@pytest.fixture(scope="module")
def root_kernel(root_store, context, epoch, tmp_path_factory):
    """The reference: root, kernel overlayfs."""
    return _root_build(root_store, context, epoch, "overlayfs", tmp_path_factory.mktemp("root-kernel"))


def _root_build(store: Path, context: Path, epoch: str, mode: str, out: Path) -> tuple[list[str], dict, str]:
    env = {"PYBUILD_OVERLAY": mode, "SOURCE_DATE_EPOCH": epoch}
    built = _root(
        store, "--no-cache", "-f", str(context / "Buildfile"), "-t", f"m-{mode}:1", str(context), env=env
    )
    archive = out / f"{mode}.tar"
    _root(store, "save", f"m-{mode}:1", "-o", str(archive))
    return _archive_layers(archive), flattened(archive), built.stdout


def _user_build(user, context: Path, epoch: str, tag: str, env: dict) -> tuple[list[str], dict, str]:
    env = {"SOURCE_DATE_EPOCH": epoch, **env}
    built = user.pybuild(
        "--no-cache", "-f", str(context / "Buildfile"), "-t", f"{tag}:1", str(context), env=env
    )
    archive = user.home / f"{tag}.tar"
    user.pybuild("save", f"{tag}:1", "-o", str(archive), env=env)
    return _archive_layers(archive), flattened(archive), built.stdout


def test_the_reference_build_exercises_what_it_should(root_kernel):
    _diff_ids, tree, _ = root_kernel
    assert "data/del" not in tree and "data/gone" not in tree and "data/dir/a" not in tree
    assert tree["data/dir/n"][0] == "0" and tree["data/own"][1:4] == (0o4755, 1000, 1000)
    assert tree["etc/one.txt"][2:4] == (1000, 1000) and tree["app/work/result"][0] == "0"
    assert tree["data/copied/deep/b.txt"][0] == "0" and "etc/group" not in tree
    assert tree["tmp/seen-by-nobody"][2:4] == (65534, 65534)  # read, and denied a write, as another user
    # the kernel breaks the hard link when copying one name up: the other keeps the old content
    assert tree["data/modlink"][4] != tree["data/mod"][4]


@pytest.mark.parametrize("mode", ["fuse-overlayfs", "copy"])
def test_root_builds_in_each_mode_equal_the_kernel_build(
    root_store, context, epoch, root_kernel, mode, tmp_path
):
    diff_ids, tree, _ = _root_build(root_store, context, epoch, mode, tmp_path)
    assert tree == root_kernel[1]
    assert diff_ids == root_kernel[0]


@pytest.mark.parametrize("mode", MODES)
def test_rootless_builds_in_each_mode_equal_the_kernel_build(
    user, fuse_device, root_store, context, epoch, root_kernel, mode
):
    diff_ids, tree, _ = _user_build(user, context, epoch, f"m-{mode}", {"PYBUILD_OVERLAY": mode})
    assert tree == root_kernel[1]
    assert diff_ids == root_kernel[0]


def test_rootless_auto_falls_back_to_fuse_overlayfs(
    user, fuse_device, root_store, context, epoch, root_kernel, refusing_path
):
    env = {"PATH": refusing_path}
    info = json.loads(user.pybuild("info", "--json", env=env).stdout)
    assert info["overlay_mode"] == "fuse-overlayfs" and not info["overlay_forced"]
    assert info["overlay_refused"] == {"overlayfs": "mount: overlay: permission denied (injected)"}
    shown = user.pybuild("info", env=env).stdout
    assert (
        "overlay:     fuse-overlayfs (overlayfs refused: mount: overlay: permission denied (injected))" in shown
    )
    diff_ids, tree, _ = _user_build(user, context, epoch, "m-auto-fuse", env)
    assert (tree, diff_ids) == (root_kernel[1], root_kernel[0])


def test_rootless_auto_falls_back_to_copy(
    user, fuse_closed, root_store, context, epoch, root_kernel, refusing_path
):
    env = {"PATH": refusing_path}
    info = json.loads(user.pybuild("info", "--json", env=env).stdout)
    assert info["overlay_mode"] == "copy" and info["builds"]
    assert info["overlay_refused"]["overlayfs"] == "mount: overlay: permission denied (injected)"
    # /dev/fuse is root's: fuse-overlayfs cannot mount in the user's namespace (1.10 says "cannot mount")
    refused = info["overlay_refused"]["fuse-overlayfs"]
    assert refused.startswith("fuse-overlayfs: ") and "Permission denied" in refused
    diff_ids, tree, _ = _user_build(user, context, epoch, "m-auto-copy", env)
    assert (tree, diff_ids) == (root_kernel[1], root_kernel[0])


@pytest.mark.parametrize("mode", MODES)
def test_info_shows_a_forced_mode(user, fuse_device, mode):
    info = json.loads(user.pybuild("info", "--json", env={"PYBUILD_OVERLAY": mode}).stdout)
    assert (info["overlay_mode"], info["overlay_forced"], info["builds"]) == (mode, True, True)
    shown = "overlayfs (userxattr)" if mode == "overlayfs" else mode
    assert info["overlay"] == f"{shown} (forced by PYBUILD_OVERLAY)"


def test_info_says_when_a_forced_mode_is_refused(user, fuse_closed):
    result = user.pybuild("info", env={"PYBUILD_OVERLAY": "fuse-overlayfs"}, check=False)
    assert result.returncode == 1
    assert (
        "overlay:     unavailable (fuse-overlayfs (forced by PYBUILD_OVERLAY): fuse-overlayfs:" in result.stdout
    )
    assert "builds:      no" in result.stdout


def test_a_bad_mode_is_a_located_error(user, root_store, context):
    env = {"PYBUILD_OVERLAY": "aufs"}
    result = user.pybuild("--no-cache", "-f", str(context / "Buildfile"), str(context), env=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        "Buildfile:2:1: error: PYBUILD_OVERLAY=aufs: expected auto, overlayfs, fuse-overlayfs or copy"
        in result.stderr
    )


def test_root_info_reports_the_choice(root_store, refusing_path):
    done = subprocess.run(
        [sys.executable, "-m", "builder", "--root", str(root_store), "info", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PATH": refusing_path},
    )
    info = json.loads(done.stdout)
    # root has /dev/fuse whatever its mode: the fallback is fuse-overlayfs
    assert info["overlay"] == "fuse-overlayfs (overlayfs refused: mount: overlay: permission denied (injected))"
    assert shutil.which("fuse-overlayfs")
