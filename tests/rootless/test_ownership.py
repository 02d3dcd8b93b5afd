"""Owners, modes and special files survive the id mapping, both ways: what a rootless RUN writes is recorded
with container ids in the layer, and a base image unpacked by the user shows its owners inside."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.rootless.conftest import REPO
from tests.rootless.trees import flattened, layer_entries
from tests.support.images import Podman, busybox_rootfs

SUBUID_START = 200000  # the `user` fixture's range: container id N > 0 is host id SUBUID_START + N - 1


def _root_pybuild(store: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "builder", "--root", str(store), *args], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _base_image(user, work: Path) -> None:
    """``base:1`` in the user's store: busybox plus files of several owners, a setuid file, a fifo, a hard
    link and a device node, made by root and loaded (so unpacked) by the user."""
    rootfs = busybox_rootfs(work / "rootfs")
    owned = rootfs / "owned"
    owned.mkdir()
    (owned / "app").write_text("app\n")
    os.chown(owned / "app", 1000, 1000)
    (owned / "nobody").write_text("nobody\n")
    os.chown(owned / "nobody", 65534, 65534)
    (owned / "setuid").write_text("#!/bin/sh\n")
    os.chmod(owned / "setuid", 0o4755)
    os.mkfifo(owned / "fifo", 0o640)
    os.link(owned / "app", owned / "app-link")
    os.mknod(owned / "null", 0o20666, os.makedev(1, 3))
    store = work / "store"
    _root_pybuild(store, "import", str(rootfs), "base:1")
    archive = user.home / "base.tar"
    _root_pybuild(store, "save", "base:1", "-o", str(archive))
    user.give(archive)
    user.pybuild("load", "-i", str(archive))


def test_run_chown_and_setuid_are_recorded_with_container_ids(user):
    context = user.write_context(
        "ctx-chown",
        "FROM busybox:latest\n"
        "RUN mkdir /data && echo x > /data/f && chown 1234:1234 /data/f"
        " && cp /bin/busybox /data/su && chmod 4755 /data/su && rm /bin/ls\n"
        "RUN mkdir /d && touch /d/old\nRUN rm -rf /d && mkdir /d && touch /d/new\n",
    )
    busybox = user.home / "bb-chown"
    busybox_rootfs(busybox)
    user.give(busybox)
    user.pybuild("import", str(busybox), "busybox:latest")
    user.pybuild("-f", str(context / "Buildfile"), "-t", "owners:1", str(context))
    archive = user.home / "owners.tar"
    user.pybuild("save", "owners:1", "-o", str(archive))

    layers = layer_entries(archive)
    run_layer = layers[1]  # layer 0 is busybox
    assert run_layer["data/f"][2:4] == (1234, 1234)
    assert run_layer["data/su"][1:4] == (0o4755, 0, 0)
    assert "bin/.wh.ls" in run_layer
    assert "d/.wh..wh..opq" in layers[3] and "d/new" in layers[3]
    # nothing in any layer carries a host id of the mapping
    assert all(entry[2] < 65536 and entry[3] < 65536 for layer in layers for entry in layer.values())

    shown = user.pybuild("run", "owners:1", "stat", "-c", "%u:%g %a %n", "/data/f", "/data/su").stdout
    assert shown.splitlines() == ["1234:1234 644 /data/f", "0:0 4755 /data/su"]


def test_base_image_unpacked_by_the_user_keeps_owners_modes_and_special_files(user, tmp_path: Path):
    _base_image(user, tmp_path)
    shown = user.pybuild(
        "run", "base:1", "stat", "-c", "%u:%g %a %F %h %n",
        "/owned/app", "/owned/nobody", "/owned/setuid", "/owned/fifo",
    ).stdout  # fmt: skip
    assert shown.splitlines() == [
        "1000:1000 644 regular file 2 /owned/app",
        "65534:65534 644 regular file 1 /owned/nobody",
        "0:0 4755 regular file 1 /owned/setuid",
        "0:0 640 fifo 1 /owned/fifo",
    ]
    # on the host the unpacked files belong to the mapped ids
    unpacked = [p for p in (user.store / "layers").rglob("owned/app")]
    assert unpacked and os.stat(unpacked[0]).st_uid == SUBUID_START + 1000 - 1
    # a build on it keeps the base image's entries, the device node included (the layer is reused as is)
    context = user.write_context("ctx-base", "FROM base:1\nRUN echo built > /owned/built\n")
    user.pybuild("-f", str(context / "Buildfile"), "-t", "onbase:1", str(context))
    archive = user.home / "onbase.tar"
    user.pybuild("save", "onbase:1", "-o", str(archive))
    tree = flattened(archive)
    assert tree["owned/null"][0] == "3" and tree["owned/app"][2:4] == (1000, 1000)
    assert tree["owned/built"][2:4] == (0, 0)


def test_rootless_image_runs_under_podman_as_root_and_under_pybuild_run(user, tmp_path: Path):
    context = user.write_context(
        "ctx-podman",
        "FROM busybox:latest\nRUN echo app:x:1000:1000::/home/app:/bin/sh >> /etc/passwd && mkdir -p /home/app"
        " && echo made > /home/app/f && chown 1000:1000 /home/app/f\n"
        'USER app\nCMD ["sh", "-c", "id -u; stat -c %U /home/app/f; cat /home/app/f"]\n',
    )
    busybox = user.home / "bb-podman"
    busybox_rootfs(busybox)
    user.give(busybox)
    user.pybuild("import", str(busybox), "busybox:latest")
    user.pybuild("-f", str(context / "Buildfile"), "-t", "runs:1", str(context))
    assert user.pybuild("run", "--rm", "runs:1").stdout == "1000\napp\nmade\n"

    archive = user.home / "runs.tar"
    user.pybuild("save", "runs:1", "-o", str(archive))
    podman = Podman(tmp_path / "podman")
    try:
        podman.run("load", "-i", str(archive))
        assert podman.run("run", "--rm", "docker.io/library/runs:1").stdout == "1000\napp\nmade\n"
    finally:
        podman.cleanup()
