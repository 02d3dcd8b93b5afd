"""``RUN --mount=type=secret``: the secret reaches the step and nothing else — no layer, config, history,
cache record, log line or file of the store, no exported artifact."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import secrets
import subprocess
import tarfile
import tempfile
from pathlib import Path

import zstandard

import builder
from builder.errors import BuildError
from builder.runtime.mounts import mountpoints_under
from tests.mounts.conftest import step_output, write_context


def _contains(data: bytes, needle: bytes, depth: int = 0) -> bool:
    """Whether ``needle`` is in ``data``, also inside (compressed) tar archives, however nested."""
    if needle in data:
        return True
    if depth > 4:
        return False
    if data[:2] == b"\x1f\x8b":
        return _contains(gzip.decompress(data), needle, depth + 1)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return _contains(zstandard.ZstdDecompressor().decompressobj().decompress(data), needle, depth + 1)
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                if member.isfile() and _contains(archive.extractfile(member).read(), needle, depth + 1):
                    return True
    except tarfile.TarError:
        pass
    return False


def _found_in(tree: Path, needle: bytes) -> list[str]:
    found = []
    for directory, _dirs, files in os.walk(tree):
        for name in files:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink() and _contains(path.read_bytes(), needle):
                found.append(str(path))
    return found


USES = """FROM busybox
RUN --mount=type=secret,id=tok test "$(sha256sum < /run/secrets/tok)" = "{digest}  -" && touch /file-ok
RUN --mount=type=secret,id=tok,env=TOKEN,target=/etc/tok \\
    sh -c 'test "$(printf %s "$TOKEN" | sha256sum)" = "{digest}  -" && test -f /etc/tok && touch /env-ok'
RUN --mount=type=secret,id=tok,required sha256sum /run/secrets/tok > /sum
"""


def test_a_secret_is_nowhere_but_in_the_step(pybuild, tmp_path):
    token = "tok-" + secrets.token_hex(16)
    secret_file = tmp_path / "token.txt"
    secret_file.write_text(token)
    # each RUN checks that it sees the secret by comparing digests, which the Buildfile may hold
    context = write_context(tmp_path / "ctx", USES.format(digest=hashlib.sha256(token.encode()).hexdigest()))
    build = pybuild(
        "--progress", "plain", "--secret", f"id=tok,src={secret_file}", "-t", "sec:1",
        "-o", f"type=oci,dest={tmp_path / 'oci.tar'}", "-o", f"type=docker,dest={tmp_path / 'docker.tar'}",
        "-o", f"type=local,dest={tmp_path / 'local'}", str(context),
    )  # fmt: skip
    assert (tmp_path / "local" / "file-ok").exists() and (tmp_path / "local" / "env-ok").exists()
    needle = token.encode()
    assert needle not in build.stdout and needle not in build.stderr
    assert _found_in(pybuild.root, needle) == []
    for artifact in ("oci.tar", "docker.tar"):
        assert not _contains((tmp_path / artifact).read_bytes(), needle), artifact
    assert _found_in(tmp_path / "local", needle) == []
    # the search does find the token where it is
    assert _found_in(tmp_path, needle) == [str(secret_file)]
    assert not (tmp_path / "local" / "run").exists()  # no trace of the mountpoint either


def test_a_missing_required_secret_is_a_located_error_naming_it(pybuild, tmp_path):
    context = write_context(
        tmp_path / "ctx", "FROM busybox\nRUN --mount=type=secret,id=api_key,required true\n"
    )
    result = pybuild(str(context), check=False)
    assert result.returncode == 1
    assert "Buildfile:2:" in result.err and "secret api_key not found" in result.err
    assert "--secret id=api_key" in result.err


def test_an_optional_missing_secret_is_simply_absent(pybuild, tmp_path):
    # as BuildKit: no file, and the step runs
    context = write_context(
        tmp_path / "ctx", "FROM busybox\nRUN --mount=type=secret,id=absent sh -c 'ls /run/secrets; echo ran'\n"
    )
    result = pybuild("--progress", "plain", str(context))
    assert step_output(result.err, "RUN")[1][-1] == "ran"
    assert "No such file or directory" in result.err


def test_owner_and_mode(pybuild, tmp_path):
    # as BuildKit v0.13 (tests/build/buildkit/run-mounts): -r-------- root by default; mode/uid/gid as given
    secret_file = tmp_path / "s.txt"
    secret_file.write_text("hunter2\n")
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox\n"
        "RUN --mount=type=secret,id=tok ls -ln /run/secrets/tok\n"
        "RUN --mount=type=secret,id=tok,mode=0440,uid=5,gid=6,target=/x/y ls -ln /x/y\n",
    )
    result = pybuild("--progress", "plain", "--secret", f"id=tok,src={secret_file}", str(context))
    (default,) = step_output(result.err, "id=tok ls")[1]
    (given,) = step_output(result.err, "uid=5")[1]
    assert default.split()[:5] == ["-r--------", "1", "0", "0", "8"]
    assert given.split()[:5] == ["-r--r-----", "1", "5", "6", "8"]


def test_a_secret_from_a_variable_through_the_api(pybuild, tmp_path, monkeypatch):
    monkeypatch.setenv("PYBUILD_TEST_SECRET", "from-the-environment")
    context = write_context(
        tmp_path / "ctx",
        'FROM busybox\nRUN --mount=type=secret,id=tok,env=VALUE,required sh -c \'test "$VALUE" = '
        "from-the-environment && test ! -e /run/secrets/tok && touch /ok'\n",
    )
    builder.build(
        context, tags=["api:1"], root=pybuild.root, secrets=["id=tok,env=PYBUILD_TEST_SECRET"],
        outputs=[f"type=local,dest={tmp_path / 'out'}"],
    )  # fmt: skip
    assert (tmp_path / "out" / "ok").exists()
    monkeypatch.delenv("PYBUILD_TEST_SECRET")
    try:
        builder.build(context, root=pybuild.root, no_cache=True, secrets=["id=tok,env=PYBUILD_TEST_SECRET"])
    except BuildError as error:
        assert "secret tok not found" in error.message and error.span is not None
    else:
        raise AssertionError("a required secret whose variable is unset must fail the build")


def private_mounts() -> list[Path]:
    return [m for m in mountpoints_under(Path(tempfile.gettempdir())) if m.name.startswith("pybuild-private-")]


def test_a_killed_build_leaves_no_secret_behind(pybuild, tmp_path):
    """SIGKILL during a step with secrets (a file, and an env secret whose runtime state lives with it): the
    next build unmounts the private tmpfs, stops the step's process and removes everything."""
    (tmp_path / "secret.txt").write_text("hunter2\n")
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox\nRUN --mount=type=secret,id=f --mount=type=secret,id=e,env=E "
        "sh -c 'echo $((6*7))-ready; exec sleep 987'\n",
    )
    before = private_mounts()  # another store's leftovers are not this test's
    build = pybuild.popen(
        "--progress", "plain", "--secret", f"id=f,src={tmp_path / 'secret.txt'}", "--secret", "id=e,env=HOME",
        str(context),
    )  # fmt: skip
    assert build.stdout is not None
    for line in build.stdout:
        if b"42-ready" in line:
            break
    private = [m for m in private_mounts() if m not in before]
    assert private, "the step's secrets are on a private tmpfs while it runs"
    build.kill()
    build.wait(timeout=30)
    assert all(p.exists() for p in private)  # SIGKILL left the tmpfs mounted, the secret in memory

    pybuild("build", str(write_context(tmp_path / "next", "FROM busybox\nRUN true\n")))
    assert not any(p.exists() for p in private)
    assert not [m for m in private_mounts() if m in private]
    assert subprocess.run(["pgrep", "-f", "sleep 987"], capture_output=True).returncode == 1
