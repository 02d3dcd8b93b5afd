"""Through the CLI: a RUN layer holds what the command changed, not the mountpoints its container needed
(unlike BuildKit v0.13, which leaves etc/, and dev/ proc/ sys/ on a base that lacks them, behind; DESIGN.md
asks for no trace)."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

from tests.build.conftest import write_context


def _top_layer_names(pybuild, tag: str, archive: Path) -> list[str]:
    pybuild("save", tag, "-o", str(archive))
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        with tarfile.open(fileobj=outer.extractfile(manifest["Layers"][-1])) as layer:
            return [member.name for member in layer.getmembers()]


def test_run_layer_holds_only_the_written_file(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo hi > /f && cat /etc/hosts\n")
    pybuild("-f", str(context / "Buildfile"), "-t", "notrace:1", str(context))
    assert _top_layer_names(pybuild, "notrace:1", tmp_path / "image.tar") == ["f"]


def test_base_without_system_directories_gains_none(pybuild, tmp_path, busybox_dir):
    # An image of /bin only: no /dev, /proc, /sys or /etc for runc to mount on.
    bare = tmp_path / "bare"
    shutil.copytree(busybox_dir / "bin", bare / "bin", symlinks=True)
    assert sorted(os.listdir(bare)) == ["bin"]
    pybuild("import", str(bare), "bare:1")
    context = write_context(tmp_path / "ctx", "FROM bare:1\nRUN echo hi > /f && ls /proc/self /dev/null\n")
    pybuild("-f", str(context / "Buildfile"), "-t", "notrace:2", str(context))
    assert _top_layer_names(pybuild, "notrace:2", tmp_path / "image.tar") == ["f"]


def test_run_writing_into_etc_keeps_etc_and_the_file_only(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo x > /etc/foo\n")
    pybuild("-f", str(context / "Buildfile"), "-t", "notrace:3", str(context))
    assert _top_layer_names(pybuild, "notrace:3", tmp_path / "image.tar") == ["etc", "etc/foo"]
