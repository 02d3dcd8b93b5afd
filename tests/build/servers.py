"""Servers on 127.0.0.1 for context tests: a git repository behind ``git daemon`` and a directory behind
Python's http.server. Test modules import the fixtures they use."""

from __future__ import annotations

import functools
import socket
import subprocess
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.build.conftest import write_context


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
