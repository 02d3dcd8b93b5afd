"""Build contexts other than a directory, as ``docker buildx build`` takes them: ``-`` (a tar or a Dockerfile
on stdin), a git URL served by ``git daemon`` on 127.0.0.1, and a tarball or Dockerfile URL served by
Python's http.server on 127.0.0.1."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from tests.build.conftest import write_context
from tests.build.servers import git_server, http_server  # noqa: F401 - fixtures


def _tar(directory: Path) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return data.getvalue()


def test_tar_context_on_stdin(pybuild, tmp_path):
    context = write_context(
        tmp_path / "ctx", "FROM busybox:latest\nCOPY sub/data.txt /data.txt\n", {"sub/data.txt": "tarred\n"}
    )
    pybuild("-t", "stdin:1", "-", input=_tar(context))
    assert pybuild("run", "stdin:1", "cat", "/data.txt").out == "tarred\n"
    # -f names a Buildfile inside the archive, as docker build -f FILE - reads it
    (context / "sub" / "Other").write_text("FROM busybox:latest\nCOPY sub/data.txt /other.txt\n")
    pybuild("-t", "stdin:2", "-f", "sub/Other", "-", input=_tar(context))
    assert pybuild("run", "stdin:2", "cat", "/other.txt").out == "tarred\n"


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


def test_git_context_with_ref_and_subdir(pybuild, git_server):  # noqa: F811
    pybuild("-t", "git:1", f"{git_server}/repo.git#v1:app")
    assert pybuild("run", "git:1", "cat", "/msg").out == "v1\n"
    pybuild("-t", "git:2", f"{git_server}/repo.git#main:app")
    assert pybuild("run", "git:2", "cat", "/msg").out == "v2\n"
    # -f names a file inside the repository's context, not in the working directory
    pybuild("-t", "git:3", "-f", "Buildfile", f"{git_server}/repo.git#v1:app")
    assert pybuild("run", "git:3", "cat", "/msg").out == "v1\n"


def test_git_context_errors_name_what_is_missing(pybuild, git_server):  # noqa: F811
    no_ref = pybuild(f"{git_server}/repo.git#nope:app", check=False)
    assert no_ref.returncode == 2 and "no branch, tag or commit named 'nope'" in no_ref.err
    no_dir = pybuild(f"{git_server}/repo.git#main:elsewhere", check=False)
    assert no_dir.returncode == 2 and "no directory 'elsewhere'" in no_dir.err


def test_tarball_and_dockerfile_urls(pybuild, http_server, tmp_path):  # noqa: F811
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


def test_a_tar_context_escaping_its_directory_is_refused(pybuild, tmp_path):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        buildfile = b"FROM busybox:latest\n"
        info = tarfile.TarInfo("Buildfile")
        info.size = len(buildfile)
        tar.addfile(info, io.BytesIO(buildfile))
        evil = tarfile.TarInfo("../escaped")
        evil.size = 1
        tar.addfile(evil, io.BytesIO(b"x"))
    result = pybuild("-", input=data.getvalue(), check=False)
    assert result.returncode == 2 and "cannot unpack the context from stdin" in result.err
    assert "Traceback" not in result.err
