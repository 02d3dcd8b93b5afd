"""``RUN --mount=type=ssh`` fed by ``--ssh``: an agent's socket forwarded with the owner and mode asked for,
or an agent started for the step holding the given keys."""

from __future__ import annotations

import os
import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest

from builder.mounts.secrets import Agent, SocketProxy, private_dir
from tests.mounts.conftest import step_output, write_context


@pytest.fixture
def key(tmp_path) -> Path:
    path = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test-key", "-f", str(path)], check=True
    )
    return path


@pytest.fixture
def agent_socket(tmp_path, key) -> Path:
    """A user's ssh-agent holding ``key``, as ``SSH_AUTH_SOCK`` would name it."""
    with ExitStack() as stack:
        agent = Agent(tmp_path / "agent.sock", (str(key),), "test")
        stack.callback(agent.close)
        yield agent.socket_path


def _listed(socket_path: Path) -> str:
    env = {**os.environ, "SSH_AUTH_SOCK": str(socket_path)}
    return subprocess.run(["ssh-add", "-l"], env=env, capture_output=True, text=True).stdout


@pytest.mark.root  # the proxy's socket is given the step user's owner
def test_the_proxy_forwards_to_the_agent_with_its_own_owner_and_mode(agent_socket, tmp_path):
    assert "test-key" in _listed(agent_socket)
    with private_dir() as directory:
        proxy = SocketProxy(directory / "s", str(agent_socket), mode=0o660, uid=5, gid=6)
        try:
            st = os.stat(directory / "s")
            assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o660, 5, 6)
            for _ in range(3):  # one connection after another
                assert "test-key" in _listed(directory / "s")
        finally:
            proxy.close()
    assert not directory.exists()


def test_ssh_mounts_in_a_build(pybuild, agent_socket, key, tmp_path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox\n"
        'RUN --mount=type=ssh sh -c \'echo "$SSH_AUTH_SOCK"; test -S "$SSH_AUTH_SOCK" && \\\n'
        '    ls -ln "$SSH_AUTH_SOCK"\'\n'
        "RUN --mount=type=ssh,id=deploy,target=/agent,uid=7,mode=0640,required ls -ln /agent\n"
        "RUN --mount=type=ssh,id=absent ls /run/buildkit 2>&1; echo SSH=$SSH_AUTH_SOCK\n",
    )
    result = pybuild(
        "--progress", "plain", "-t", "ssh:1", "--ssh", f"default={agent_socket}", "--ssh", f"deploy={key}",
        str(context),
    )  # fmt: skip
    target, listing = step_output(result.err, "RUN --mount=type=ssh sh")[1]
    assert target == "/run/buildkit/ssh_agent.0"  # BuildKit's default target, also SSH_AUTH_SOCK
    assert listing.split()[0] == "srw-------" and listing.split()[2:4] == ["0", "0"]
    (deploy,) = step_output(result.err, "id=deploy")[1]
    assert deploy.split()[0] == "srw-r-----" and deploy.split()[2:4] == ["7", "0"]
    # BuildKit v0.13 gives the same (recorded once with an ssh-agent, outside the suite: srw------- 0 0,
    # srw-r----- 7 0): an optional agent that was not given is simply absent, the variable set
    assert step_output(result.err, "id=absent")[1][-1] == "SSH=/run/buildkit/ssh_agent.0"


def test_a_missing_required_agent_is_an_error(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nRUN --mount=type=ssh,id=git,required true\n")
    result = pybuild(str(context), check=False)
    assert result.returncode == 1
    assert 'Buildfile:2:1: error: no SSH key "git" forwarded from the client' in result.err
