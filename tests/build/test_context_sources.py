"""Build contexts other than a directory, as ``docker buildx build`` takes them: ``-`` (a tar or a Dockerfile
on stdin), a git URL served by ``git daemon`` on 127.0.0.1, and a tarball or Dockerfile URL served by
Python's http.server on 127.0.0.1."""

from __future__ import annotations

import functools
import io
import socket
import subprocess
import tarfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.build.conftest import write_context


def _tar(directory: Path) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return data.getvalue()


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def git_server(tmp_path: Path):
    """A bare repository ``repo.git`` served by ``git daemon`` on 127.0.0.1: branch ``main`` with ``app/``
    (a Buildfile and ``msg`` = v2), tag ``v1`` where ``msg`` was v1. Yields the ``git://`` base URL."""
    work = tmp_path / "git-work"
    write_context(work / "app", "FROM busybox:latest\nCOPY msg /msg\n", {"msg": "v1\n"})
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-qm", "one", cwd=work)
    _git("tag", "v1", cwd=work)
    (work / "app" / "msg").write_text("v2\n")
    _git("commit", "-qam", "two", cwd=work)
    served = tmp_path / "git-served"
    served.mkdir()
    _git("clone", "-q", "--bare", str(work), str(served / "repo.git"), cwd=tmp_path)
    port = _free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--export-all", f"--base-path={served}", "--listen=127.0.0.1", f"--port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"git://127.0.0.1:{port}"
    daemon.terminate()
    daemon.wait(10)


@pytest.fixture
def http_server(tmp_path: Path):
    """Python's http.server over ``tmp_path/www`` on 127.0.0.1; yields (base URL, directory)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_tar_context_on_stdin(pybuild, tmp_path):
    context = write_context(
        tmp_path / "ctx", "FROM busybox:latest\nCOPY sub/data.txt /data.txt\n", {"sub/data.txt": "tarred\n"}
    )
    pybuild("-t", "stdin:1", "-", input=_tar(context))
    assert pybuild("run", "stdin:1", "cat", "/data.txt").out == "tarred\n"


def test_dockerfile_alone_on_stdin_has_an_empty_context(pybuild):
    buildfile = b"FROM busybox:latest\nRUN ls -A / > /dev/null && echo no-context > /o\n"
    pybuild("-t", "dfonly:1", "-", input=buildfile)
    assert pybuild("run", "dfonly:1", "cat", "/o").out == "no-context\n"
    copy = pybuild("-", input=b"FROM busybox:latest\nCOPY anything /x\n", check=False)
    assert copy.returncode != 0 and "anything" in copy.err and "Traceback" not in copy.err


def test_stdin_for_both_context_and_buildfile_is_refused(pybuild):
    result = pybuild("-f", "-", "-", input=b"FROM busybox:latest\n", check=False)
    assert result.returncode == 2
    assert "can't use stdin for both build context and dockerfile" in result.err


def test_git_context_with_ref_and_subdir(pybuild, git_server):
    pybuild("-t", "git:1", f"{git_server}/repo.git#v1:app")
    assert pybuild("run", "git:1", "cat", "/msg").out == "v1\n"
    pybuild("-t", "git:2", f"{git_server}/repo.git#main:app")
    assert pybuild("run", "git:2", "cat", "/msg").out == "v2\n"
    # -f names a file inside the repository's context, not in the working directory
    pybuild("-t", "git:3", "-f", "Buildfile", f"{git_server}/repo.git#v1:app")
    assert pybuild("run", "git:3", "cat", "/msg").out == "v1\n"


def test_git_context_errors_name_what_is_missing(pybuild, git_server):
    no_ref = pybuild(f"{git_server}/repo.git#nope:app", check=False)
    assert no_ref.returncode == 2 and "no branch, tag or commit named 'nope'" in no_ref.err
    no_dir = pybuild(f"{git_server}/repo.git#main:elsewhere", check=False)
    assert no_dir.returncode == 2 and "no directory 'elsewhere'" in no_dir.err


def test_tarball_and_dockerfile_urls(pybuild, http_server, tmp_path):
    base, root = http_server
    context = write_context(
        tmp_path / "ctx", "FROM busybox:latest\nCOPY data.txt /data.txt\n", {"data.txt": "over http\n"}
    )
    (root / "context.tar.gz").write_bytes(_tar(context))
    pybuild("-t", "url:1", f"{base}/context.tar.gz")
    assert pybuild("run", "url:1", "cat", "/data.txt").out == "over http\n"
    (root / "Dockerfile").write_text("FROM busybox:latest\nRUN echo plain > /p\n")
    pybuild("-t", "url:2", f"{base}/Dockerfile")
    assert pybuild("run", "url:2", "cat", "/p").out == "plain\n"
    missing = pybuild(f"{base}/absent.tar", check=False)
    assert missing.returncode == 2 and "invalid response status 404" in missing.err
