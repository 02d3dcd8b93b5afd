"""``--build-context NAME=…`` as buildx defines it: a directory, a git URL, ``docker-image://`` and
``oci-layout://``, used by ``FROM NAME``, ``COPY --from=NAME`` and ``RUN --mount=from=NAME``."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

from tests.build.conftest import write_context
from tests.build.servers import git_server  # noqa: F401 - a fixture


def _extra(tmp_path: Path) -> Path:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "e.txt").write_text("extra\n")
    os.chown(extra / "e.txt", 1234, 1234)
    return extra


def test_directory_context_in_copy_from_and_run_mount(pybuild, tmp_path):
    extra = _extra(tmp_path)
    context = write_context(
        tmp_path / "ctx",
        "FROM base\nCOPY --from=files e.txt /e.txt\n"
        "RUN --mount=from=files,target=/m,rw cat /m/e.txt > /m2 && touch /m/written-by-run\n",
    )
    pybuild(
        "-t", "nc:1", "--build-context", "base=docker-image://busybox:latest",
        "--build-context", f"files={extra}", str(context),
    )  # fmt: skip
    assert pybuild("run", "nc:1", "cat", "/e.txt", "/m2").out == "extra\nextra\n"
    # COPY --from a directory context gives root the files, as COPY from the context does (BuildKit: 0:0)
    assert pybuild("run", "nc:1", "stat", "-c", "%u:%g", "/e.txt").out == "0:0\n"
    assert sorted(p.name for p in extra.iterdir()) == ["e.txt"]  # the mount was a throwaway copy
    # the directory is part of the steps' cache keys: a change makes them run again
    (extra / "e.txt").write_text("changed\n")
    again = pybuild(
        "--progress=plain", "-t", "nc:2", "--build-context", "base=docker-image://busybox:latest",
        "--build-context", f"files={extra}", str(context),
    )  # fmt: skip
    assert "CACHED" not in again.err
    assert pybuild("run", "nc:2", "cat", "/e.txt").out == "changed\n"


def test_image_context_replaces_a_from_reference(pybuild, tmp_path):
    pybuild("build", "-t", "other:7", str(write_context(tmp_path / "o", "FROM busybox\nRUN echo seven > /n\n")))
    context = write_context(
        tmp_path / "ctx",
        "FROM alpine:3.19\nRUN cat /n > /copied\nCOPY --from=tools /n /via-copy\n"
        "RUN --mount=from=tools,target=/t cat /t/n > /via-mount\n",
    )
    pybuild(
        "-t", "swapped:1", "--build-context", "alpine:3.19=docker-image://other:7",
        "--build-context", "tools=docker-image://other:7", str(context),
    )  # fmt: skip
    assert pybuild("run", "swapped:1", "cat", "/copied", "/via-copy", "/via-mount").out == "seven\n" * 3


def test_oci_layout_context_by_digest(pybuild, tmp_path):
    pybuild("build", "-t", "laid:1", str(write_context(tmp_path / "o", "FROM busybox\nRUN echo laid > /l\n")))
    layout = tmp_path / "layout"
    pybuild("save", "laid:1", "--format", "oci-dir", "-o", str(layout))
    digest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    pybuild("rmi", "laid:1")
    context = write_context(tmp_path / "ctx", "FROM lay\nRUN cat /l > /from-layout\n")
    pybuild(
        "--pull=always",
        "-t",
        "fromlayout:1",
        "--build-context",
        f"lay=oci-layout://{layout}@{digest}",
        str(context),
    )
    assert pybuild("run", "fromlayout:1", "cat", "/from-layout").out == "laid\n"
    wrong = "sha256:" + "0" * 64
    missing = pybuild("--build-context", f"lay=oci-layout://{layout}@{wrong}", str(context), check=False)
    assert missing.returncode == 2 and f"the layout holds no image {wrong}" in missing.err


def test_git_context_as_named_context(pybuild, git_server, tmp_path):  # noqa: F811
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nCOPY --from=repo msg /msg\n")
    pybuild("-t", "gitnamed:1", "--build-context", f"repo={git_server}/repo.git#v1:app", str(context))
    assert pybuild("run", "gitnamed:1", "cat", "/msg").out == "v1\n"


def test_directory_as_a_base(pybuild, tmp_path):
    """What BuildKit v0.13 made of ``FROM files`` + ``LABEL a=b`` with ``--build-context files=DIR``: one
    layer with the directory's files owned by root, history ``local source for files`` then ``LABEL a=b``,
    WorkingDir ``/`` (imagetree found its docker-archive and pybuild's the same)."""
    context = write_context(tmp_path / "ctx", "FROM files\nLABEL a=b\n")
    args = ("--build-context", f"files={_extra(tmp_path)}", str(context))
    pybuild("-t", "fromdir:1", *args)
    history = pybuild("history", "--no-trunc", "fromdir:1").out
    assert "local source for files" in history and "LABEL a=b" in history
    inspect = json.loads(pybuild("inspect", "fromdir:1").out)[0]
    assert inspect["Config"]["WorkingDir"] == "/" and len(inspect["RootFS"]["diff_ids"]) == 1
    out = tmp_path / "rootfs.tar"
    pybuild("-o", f"type=tar,dest={out}", *args)
    with tarfile.open(out) as tar:
        assert [(m.name, m.uid, m.gid) for m in tar.getmembers()] == [("e.txt", 0, 0)]
    # the same files make the same base: with a fixed time, a rebuild is the same image
    fixed = ("--build-arg", "SOURCE_DATE_EPOCH=1000", *args)
    assert pybuild("-q", *fixed).out == pybuild("-q", *fixed).out


def test_malformed_build_context_is_refused(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\n")
    for value, message in [
        ("novalue", "expected NAME=VALUE"),
        ("x=ftp://host/y", "unsupported source 'ftp://host/y'"),
        (f"x={tmp_path / 'absent'}", "is not a directory"),
    ]:
        result = pybuild("--build-context", value, str(context), check=False)
        assert result.returncode == 2 and message in result.err, result.err
