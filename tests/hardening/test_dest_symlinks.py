"""An image whose symlinks point at absolute paths it does not have: COPY, ADD (archives and URLs) and
WORKDIR through them write inside the image, at the link's target taken from the image's root — never on
the host, even when the host has a directory of that name (BuildKit does the same)."""

from __future__ import annotations

import functools
import io
import shutil
import tarfile
import threading
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.hardening.conftest import write_context


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def host_target():
    """A directory on the host, empty, at an absolute path the image's links name; removed afterwards."""
    path = Path("/tmp") / f"pybuild-escape-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def served(tmp_path: Path):
    root = tmp_path / "srv"
    root.mkdir()
    (root / "fetched.txt").write_text("from the url\n")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _archive() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        data = b"from the archive\n"
        info = tarfile.TarInfo("member.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def test_writes_through_dangling_links_stay_in_the_image(cli, tmp_path: Path, host_target: Path, served: str):
    assert list(host_target.iterdir()) == []
    t = host_target
    links = [f"{t}/copied /c", f"{t}/file /f", f"{t}/work /w", f"{t}/added /a", f"{t}/url /u", f"{t} /top"]
    buildfile = (
        "FROM busybox\n"
        f"RUN {' && '.join(f'ln -s {link}' for link in links)}\n"
        "COPY payload.txt /top/\n"
        "COPY payload.txt /c/\n"
        "COPY payload.txt /f\n"
        "COPY dir /top/deep/\n"
        "ADD arc.tgz /a/\n"
        f"ADD {served}/fetched.txt /u/\n"
        "WORKDIR /w/sub\n"
    )
    context = write_context(tmp_path / "ctx", buildfile, {"payload.txt": "payload\n", "dir/in.txt": "in\n"})
    (context / "arc.tgz").write_bytes(_archive())

    built = cli("build", "-t", "dangling:1", str(context), check=False)

    assert list(host_target.iterdir()) == [], "the build wrote on the host"
    assert built.returncode == 0, built.err
    inside = cli(
        "run",
        "dangling:1",
        "sh",
        "-c",
        f"cd {t} && find . | sort && cat copied/payload.txt file deep/in.txt added/member.txt url/fetched.txt",
    ).out.split("\n")
    assert inside == [
        ".",
        "./added",
        "./added/member.txt",
        "./copied",
        "./copied/payload.txt",
        "./deep",
        "./deep/in.txt",
        "./file",
        "./payload.txt",
        "./url",
        "./url/fetched.txt",
        "./work",
        "./work/sub",
        "payload",
        "payload",
        "in",
        "from the archive",
        "from the url",
        "",
    ]
