"""ADD of http(s) URLs and git repositories, served from 127.0.0.1 by a thread of this test process.

The URL expectations were recorded from Docker 26.1's BuildKit v0.13 with the same Buildfile against the same
kind of server (``python3 -m http.server``; file mtime 2021-01-02T03:04:05Z): mode 0600, owner root or
``--chown`` (also for the created parent), mtime from Last-Modified, a tar archive never unpacked.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.copy.cases import tar_bytes
from tests.copy.layers import image_layers

MTIME = 1609556645  # 2021-01-02T03:04:05Z


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path):
    """``(base URL, served directory)``: an http server on 127.0.0.1 for the duration of the test."""
    root = tmp_path / "srv"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def _build(pybuild, tmp_path: Path, buildfile: str, *, check: bool = True):
    context = tmp_path / "ctx"
    context.mkdir(exist_ok=True)
    (context / "Buildfile").write_text(buildfile)
    result = pybuild("-t", "remote:1", str(context), check=check)
    if not check:
        return result
    archive = tmp_path / "image.tar"
    pybuild("save", "remote:1", "-o", str(archive))
    with tarfile.open(archive) as outer:
        names = [m.name for m in outer.getmembers() if m.name.endswith((".tar", "layer.tar"))]
        assert names
    return image_layers(archive), archive


def _mtimes(archive: Path) -> dict[str, int]:
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        times = {}
        for name in manifest["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(name)) as layer:
                times.update({m.name: int(m.mtime) for m in layer.getmembers() if m.isreg()})
        return times


def test_add_url_as_buildkit(pybuild, tmp_path: Path, server):
    base, root = server
    (root / "file.txt").write_text("payload\n")
    os.utime(root / "file.txt", (MTIME, MTIME))
    (root / "arc.tar").write_bytes(tar_bytes("", {"in": "x\n"}))
    layers, archive = _build(
        pybuild,
        tmp_path,
        f"FROM busybox:latest\nADD {base}/file.txt /dl/\nADD {base}/file.txt /named\n"
        f"ADD {base}/arc.tar /arc/\nADD --chown=5:6 {base}/file.txt /own/\n",
    )
    digest = hashlib.sha256(b"payload\n").hexdigest()[:16]
    tar_digest = hashlib.sha256((root / "arc.tar").read_bytes()).hexdigest()[:16]
    assert [layer["entries"] for layer in layers] == [
        [["dl", "5", 0o755, 0, 0, "", ""], ["dl/file.txt", "0", 0o600, 0, 0, "", digest]],
        [["named", "0", 0o600, 0, 0, "", digest]],
        [["arc", "5", 0o755, 0, 0, "", ""], ["arc/arc.tar", "0", 0o600, 0, 0, "", tar_digest]],
        [["own", "5", 0o755, 5, 6, "", ""], ["own/file.txt", "0", 0o600, 5, 6, "", digest]],
    ]
    times = _mtimes(archive)
    assert times["dl/file.txt"] == times["named"] == times["own/file.txt"] == MTIME


def test_add_url_checksum(pybuild, tmp_path: Path, server):
    base, root = server
    (root / "f").write_text("payload\n")
    good = "sha256:" + hashlib.sha256(b"payload\n").hexdigest()
    layers, _ = _build(pybuild, tmp_path, f"FROM busybox:latest\nADD --checksum={good} {base}/f /f\n")
    assert layers[0]["entries"][0][:5] == ["f", "0", 0o600, 0, 0]
    bad = "sha256:" + "0" * 64
    failed = _build(pybuild, tmp_path, f"FROM busybox:latest\nADD --checksum={bad} {base}/f /f\n", check=False)
    assert failed.returncode != 0
    assert "Buildfile:2:1: error:" in failed.err and "digest mismatch" in failed.err and good in failed.err


def test_add_url_http_error_is_located(pybuild, tmp_path: Path, server):
    base, _ = server
    failed = _build(pybuild, tmp_path, f"FROM busybox:latest\nADD {base}/missing /m\n", check=False)
    assert failed.returncode != 0
    assert "Buildfile:2:1: error:" in failed.err and "404" in failed.err


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repository(tmp_path: Path, server):
    """A bare repository served over dumb http: main has ``top.txt`` and ``sub/inner.txt``; branch ``dev``
    and tag ``v1`` add ``sub/dev.txt``."""
    base, root = server
    work = tmp_path / "work"
    work.mkdir()
    _git("init", "-q", "-b", "main", ".", cwd=work)
    (work / "top.txt").write_text("top\n")
    (work / "sub").mkdir()
    (work / "sub" / "inner.txt").write_text("inner\n")
    (work / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(work / "run.sh", 0o755)
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "one", cwd=work)
    _git("checkout", "-q", "-b", "dev", cwd=work)
    (work / "sub" / "dev.txt").write_text("dev\n")
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "two", cwd=work)
    _git("tag", "v1", cwd=work)
    _git("checkout", "-q", "main", cwd=work)
    _git("clone", "-q", "--bare", str(work), str(root / "repo.git"), cwd=tmp_path)
    _git("update-server-info", cwd=root / "repo.git")
    return f"{base}/repo.git"


def _names(layer: dict) -> list[str]:
    return [entry[0] for entry in layer["entries"]]


def test_add_git_refs_subdir_and_git_dir(pybuild, tmp_path: Path, repository: str):
    layers, _ = _build(
        pybuild,
        tmp_path,
        f"FROM busybox:latest\nADD {repository} /main/\nADD {repository}#dev:sub /dev\n"
        f"ADD {repository}#v1 /tag/\nADD --keep-git-dir=true {repository} /kept/\n"
        f"ADD --chown=7:8 {repository}#:sub /owned/\n",
    )
    main, dev, tag, kept, owned = layers
    assert _names(main) == ["main", "main/run.sh", "main/sub", "main/sub/inner.txt", "main/top.txt"]
    assert [e[2] for e in main["entries"] if e[0] == "main/run.sh"] == [0o755]
    assert {e[3] for e in main["entries"]} == {0}
    assert _names(dev) == ["dev", "dev/dev.txt", "dev/inner.txt"]
    assert "tag/sub/dev.txt" in _names(tag)
    assert "kept/.git/HEAD" in _names(kept) and not any(".git" in n for n in _names(main))
    assert {(e[3], e[4]) for e in owned["entries"]} == {(7, 8)}


def test_add_git_unknown_ref_is_located(pybuild, tmp_path: Path, repository: str):
    failed = _build(pybuild, tmp_path, f"FROM busybox:latest\nADD {repository}#nosuch /x/\n", check=False)
    assert failed.returncode != 0
    assert "Buildfile:2:1: error:" in failed.err and "nosuch" in failed.err


def test_add_git_makes_the_same_layer_every_time(pybuild, tmp_path: Path, repository: str):
    buildfile = f"FROM busybox:latest\nADD {repository}#dev /src/\n"
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Buildfile").write_text(buildfile)
    digests = []
    for tag in ("one:1", "two:1"):
        pybuild("--no-cache", "-t", tag, str(context))
        digests.append(json.loads(pybuild("inspect", tag).out)[0]["Manifest"]["layers"][-1]["digest"])
    # every entry carries the commit's time, not the checkout's (BuildKit v0.13: the checkout's)
    committed = int(_git("log", "-1", "--format=%ct", "dev", cwd=tmp_path / "work"))
    assert digests[0] == digests[1]
    added = {
        name: t
        for name, t in _mtimes(_build(pybuild, tmp_path, buildfile)[1]).items()
        if name.startswith("src/")
    }
    assert len(added) == 4 and set(added.values()) == {committed}
