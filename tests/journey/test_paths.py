"""Paths as users type them: relative to where they stand, through links, outside the context.

Each test stands somewhere (`User.cd`), types a command with relative paths and checks what it sees: the
files a step found in the image (read back with ``pybuild run``), and outputs at the relative place.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile

import pytest

from tests.journey.conftest import write_files

pytestmark = [pytest.mark.root, pytest.mark.slow]

#: Steps that look at the context through bind mounts, the context's root and a subdirectory, and a COPY.
LOOKS_AT_CONTEXT = """\
FROM busybox
RUN --mount=type=bind,target=/c ls /c > /listing
RUN --mount=type=bind,source=sub,target=/s cat /s/f > /from-sub
COPY sub/f /copied
"""


def cat(user, image: str, path: str) -> str:
    return user("run", "--rm", image, "cat", path).out


def test_build_dot_from_inside_the_context_binds_the_context(user):
    write_files(user.home / "app", {"Buildfile": LOOKS_AT_CONTEXT, "sub/f": "in sub\n"})
    user.cd("app")("build", "-t", "app:1", ".")
    assert cat(user, "app:1", "/listing") == "Buildfile\nsub\n"  # not runc's bundle (config.json, rootfs…)
    assert cat(user, "app:1", "/from-sub") == "in sub\n"
    assert cat(user, "app:1", "/copied") == "in sub\n"


def test_buildfile_in_a_subdirectory_of_the_context(user):
    write_files(
        user.home / "app",
        {"sub/Dockerfile": "FROM busybox\nCOPY top.txt /top\nRUN --mount=target=/c cat /c/top.txt > /bound\n"},
    )
    write_files(user.home / "app", {"top.txt": "top\n"})
    user.cd("app")("build", "-f", "sub/Dockerfile", "-t", "sub:1", ".")
    assert cat(user, "sub:1", "/top") == "top\n"
    assert cat(user, "sub:1", "/bound") == "top\n"


def test_buildfile_and_context_in_the_parent_directory(user):
    write_files(user.home / "app", {"Buildfile": LOOKS_AT_CONTEXT, "sub/f": "parent\n"})
    user.cd("app/sub")("build", "-f", "../Buildfile", "-t", "up:1", "..")
    assert cat(user, "up:1", "/listing") == "Buildfile\nsub\n"
    assert cat(user, "up:1", "/from-sub") == "parent\n"


def test_context_given_as_a_symbolic_link(user):
    write_files(user.home / "project", {"Buildfile": LOOKS_AT_CONTEXT, "sub/f": "linked\n"})
    (user.home / "link").symlink_to("project")
    user("build", "-t", "linked:1", "link")
    assert cat(user, "linked:1", "/listing") == "Buildfile\nsub\n"
    assert cat(user, "linked:1", "/copied") == "linked\n"
    user("build", "-f", "link/Buildfile", "-t", "linked:2", "link")
    assert cat(user, "linked:2", "/from-sub") == "linked\n"


def test_buildfile_outside_the_context(user):
    write_files(user.home / "buildfiles", {"Buildfile": LOOKS_AT_CONTEXT})
    write_files(user.home / "ctx", {"sub/f": "outside\n"})
    user.cd("ctx")("build", "-f", "../buildfiles/Buildfile", "-t", "out:1", ".")
    assert cat(user, "out:1", "/listing") == "sub\n"  # the Buildfile is not part of the context
    assert cat(user, "out:1", "/copied") == "outside\n"


def test_iidfile_and_metadata_file_at_relative_paths(user):
    write_files(user.home / "app", {"Buildfile": "FROM busybox\nRUN echo built > /built\n"})
    (user.home / "rel").mkdir()
    printed = user.cd("app")("build", "-q", "--iidfile", "../rel/id", "--metadata-file", "meta.json", ".").out
    image_id = (user.home / "rel" / "id").read_text()
    assert printed == f"{image_id}\n" and image_id.startswith("sha256:")
    metadata = json.loads((user.home / "app" / "meta.json").read_text())
    assert metadata["containerimage.config.digest"] == image_id
    assert user.shell("pybuild run --rm $(cat ../rel/id) cat /built").out == "built\n"


def test_outputs_land_where_the_user_named_them(user):
    write_files(user.home / "app", {"Buildfile": "FROM busybox\nRUN echo made > /made\n"})
    user.cd("app")
    user(
        "build",
        "-o",
        "type=local,dest=out",
        "-o",
        "type=tar,dest=rootfs.tar",
        "-o",
        "type=oci,dest=img.tar",
        ".",
    )
    assert (user.home / "app" / "out" / "made").read_text() == "made\n"
    with tarfile.open(user.home / "app" / "rootfs.tar") as tar:
        assert tar.extractfile("made").read() == b"made\n"
    with tarfile.open(user.home / "app" / "img.tar") as tar:
        assert "index.json" in tar.getnames()
    user("build", "--cache-to", "type=local,dest=cache", ".")
    assert (user.home / "app" / "cache" / "index.json").is_file()


def test_secret_from_a_relative_file(user):
    buildfile = 'FROM busybox\nRUN --mount=type=secret,id=x,required test "$(cat /run/secrets/x)" = s3cret\n'
    write_files(user.home / "app", {"Buildfile": buildfile})
    write_files(user.home, {"rel/file": "s3cret"})
    user.cd("app")("build", "--secret", "id=x,src=../rel/file", ".")
    missing = user("build", "--no-cache", "--secret", "id=x,src=rel/file", ".", check=False)
    assert missing.code != 0 and "Traceback" not in missing.err


def test_ssh_agent_socket_by_relative_path(user):
    buildfile = 'FROM busybox\nRUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo agent > /agent\n'
    write_files(user.home / "app", {"Buildfile": buildfile})
    (user.home / "rel").mkdir()
    agent = subprocess.run(
        ["ssh-agent", "-s", "-a", "rel/agent.sock"], cwd=user.home, capture_output=True, text=True, check=True
    )
    pid = int(agent.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        user.cd("app")("build", "-t", "ssh:1", "--ssh", "default=../rel/agent.sock", ".")
        assert cat(user, "ssh:1", "/agent") == "agent\n"
    finally:
        os.kill(pid, signal.SIGTERM)


def test_mount_sources_name_the_context_not_the_run_directory(user):
    # runc starts in its bundle directory, which holds l/0 (a link to a layer), config.json, rootfs…: a source
    # taken relative to it instead of the context would show the store's files to the step
    buildfile = (
        "FROM busybox\n"
        "RUN --mount=type=bind,source=l/0,target=/m ls -A /m > /l0\n"
        "RUN --mount=type=bind,target=/c test ! -e /c/config.json && echo clean > /clean\n"
    )
    write_files(user.home / "app", {"Buildfile": buildfile, "l/0/only": "mine\n"})
    user.cd("app")("build", "-t", "l0:1", ".")
    assert cat(user, "l0:1", "/l0") == "only\n"
    assert cat(user, "l0:1", "/clean") == "clean\n"


def test_python_api_takes_paths_relative_to_the_caller(user):
    write_files(user.home / "app", {"Buildfile": LOOKS_AT_CONTEXT, "sub/f": "api\n"})
    script = (
        "import builder; print(builder.build('app', tags=['api:1'], outputs=['type=local,dest=out']).image_id)"
    )
    result = subprocess.run(
        [str(user.installed.python), "-c", script], cwd=user.home, env=user.env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert cat(user, "api:1", "/listing") == "Buildfile\nsub\n"
    assert (user.home / "out" / "copied").read_text() == "api\n"


def test_ssh_key_by_relative_path(user):
    buildfile = 'FROM busybox\nRUN --mount=type=ssh,id=k test -S "$SSH_AUTH_SOCK" && echo key > /key\n'
    write_files(user.home / "app", {"Buildfile": buildfile})
    (user.home / "rel").mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "rel/id_ed25519"], cwd=user.home, check=True
    )
    user.cd("app")("build", "-t", "key:1", "--ssh", "k=../rel/id_ed25519", ".")
    assert cat(user, "key:1", "/key") == "key\n"
    wrong = user("build", "--no-cache", "--ssh", "k=rel/id_ed25519", ".", check=False)
    assert wrong.code != 0 and "rel/id_ed25519" in wrong.err and "Traceback" not in wrong.err
