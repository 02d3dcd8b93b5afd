"""``--secret``, ``--ssh`` and ``--allow`` values, and where a secret's bytes come from."""

from __future__ import annotations

import pytest

from builder.errors import UsageError
from builder.mounts import SecretSource, SshSource, parse_allow, parse_secret, parse_ssh


def test_secret_from_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tok.txt").write_bytes(b"s3cr3t\n")
    for value in ("id=tok,src=tok.txt", "id=tok,source=tok.txt", "type=file,id=tok,src=tok.txt"):
        source = parse_secret(value)
        assert source == SecretSource("tok", path=str(tmp_path / "tok.txt"))
        assert source.read() == b"s3cr3t\n"


def test_secret_from_a_variable(monkeypatch):
    monkeypatch.setenv("MY_TOKEN", "from-env")
    assert parse_secret("id=tok,env=MY_TOKEN").read() == b"from-env"
    assert parse_secret("id=tok,type=env,src=MY_TOKEN").read() == b"from-env"
    assert parse_secret("id=MY_TOKEN,type=env").read() == b"from-env"
    # neither given: the variable named like the id when it is set, else the file
    assert parse_secret("id=MY_TOKEN") == SecretSource("MY_TOKEN", env="MY_TOKEN")


def test_sources_gone_since_read_as_none(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    assert parse_secret("id=a,env=NOT_SET_ANYWHERE").read() is None
    source = tmp_path / "gone"
    source.write_text("x")
    secret = parse_secret(f"id=a,src={source}")
    source.unlink()
    assert secret.read() is None


@pytest.mark.parametrize("value", ["src=x", "id=", "id=a,bogus=1", "id=a,type=socket", "id=a,src"])
def test_bad_secret_values(value):
    with pytest.raises(UsageError):
        parse_secret(value)


def test_ssh_values(tmp_path, monkeypatch):
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/agent.sock")
    assert parse_ssh("default") == SshSource("default", ("/run/agent.sock",))
    assert parse_ssh("git=/k/a,/k/b") == SshSource("git", ("/k/a", "/k/b"))
    monkeypatch.chdir(tmp_path)
    assert parse_ssh("x=key") == SshSource("x", (str(tmp_path / "key"),))


def test_ssh_default_needs_an_agent(monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(UsageError, match="SSH_AUTH_SOCK"):
        parse_ssh("default")
    with pytest.raises(UsageError):
        parse_ssh("=x")


def test_allow():
    assert parse_allow(["security.insecure", "network.host,security.insecure"]) == [
        "security.insecure",
        "network.host",
    ]
    with pytest.raises(UsageError, match="invalid entitlement 'device'"):
        parse_allow(["device"])
