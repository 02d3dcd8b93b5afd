"""Authentication against real registries: htpasswd Basic auth and token auth with a test token server;
login/logout and Docker's config.json; credential helpers; clear errors that name the registry."""

from __future__ import annotations

import base64
import json
import os
import stat

from tests.registry.conftest import USERS


def _config(cli) -> dict:
    with open(os.path.join(cli.env["DOCKER_CONFIG"], "config.json")) as f:
        return json.load(f)


_HELPER = """#!/usr/bin/env python3
import json, sys
path = {vault!r}
try:
    data = json.load(open(path))
except FileNotFoundError:
    data = {{}}
action, payload = sys.argv[1], sys.stdin.read()
if action == "store":
    item = json.loads(payload)
    data[item["ServerURL"]] = item
elif action == "get":
    if payload.strip() not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    item = data[payload.strip()]
    print(json.dumps({{"Username": item["Username"], "Secret": item["Secret"]}}))
elif action == "erase":
    data.pop(payload.strip(), None)
json.dump(data, open(path, "w"))
"""


def test_basic_auth_registry_refuses_anonymous_push_then_login_push_pull_logout(
    cli, other_cli, busybox, basic_registry
):
    domain = basic_registry.domain
    ref = f"{domain}/private/busybox:1"
    refused = cli("push", "busybox", ref, check=False)
    assert refused.returncode == 1
    assert f"unauthorized: authentication required at {domain}" in refused.err
    assert f"run pybuild login {domain}" in refused.err

    wrong = cli("login", "-u", "alice", "--password-stdin", domain, input=b"queen\n", check=False)
    assert wrong.returncode == 1
    assert f"incorrect username or password at {domain}" in wrong.err
    assert not os.path.exists(os.path.join(cli.env["DOCKER_CONFIG"], "config.json"))

    ok = cli("login", "-u", "alice", "--password-stdin", domain, input=b"wonderland\n")
    assert ok.out == "Login Succeeded\n"
    path = os.path.join(cli.env["DOCKER_CONFIG"], "config.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    entry = _config(cli)["auths"][domain]
    assert base64.b64decode(entry["auth"]).decode() == "alice:wonderland"

    cli("push", "busybox", ref)
    assert "Digest: sha256:" in other_cli("pull", ref).out  # the same config file serves both stores

    assert cli("logout", domain).out == f"Removing login credentials for {domain}\n"
    assert domain not in _config(cli).get("auths", {})
    assert cli("logout", domain).out == f"Not logged in to {domain}\n"
    again = other_cli("pull", ref, check=False)
    assert again.returncode == 1 and "authentication required" in again.err


def test_login_keeps_other_entries_of_the_config(cli, basic_registry):
    path = os.path.join(cli.env["DOCKER_CONFIG"], "config.json")
    os.makedirs(cli.env["DOCKER_CONFIG"], exist_ok=True)
    with open(path, "w") as f:
        json.dump({"auths": {"other.example": {"auth": "eDp5"}}, "psFormat": "table"}, f)
    cli("login", "-u", "alice", "-p", "wonderland", basic_registry.domain)
    config = _config(cli)
    assert config["psFormat"] == "table"
    assert set(config["auths"]) == {"other.example", basic_registry.domain}


def test_token_auth_push_pull_with_scopes(cli, other_cli, busybox, token_registry, token_server):
    domain = token_registry.domain
    ref = f"{domain}/team/busybox:1"
    refused = cli("push", "busybox", ref, check=False)
    assert refused.returncode == 1
    assert f"at {domain}" in refused.err and f"pybuild login {domain}" in refused.err

    cli("login", "-u", "alice", "--password-stdin", domain, input=b"wonderland")
    cli("push", "busybox", ref)
    assert ("alice", ["repository:team/busybox:pull,push"]) in token_server.requests
    other_cli("pull", ref)
    assert ("alice", ["repository:team/busybox:pull"]) in token_server.requests


def test_token_auth_anonymous_pull_of_a_public_repository(
    cli, other_cli, busybox, token_registry, token_server
):
    domain = token_registry.domain
    cli("login", "-u", "alice", "-p", "wonderland", domain)
    cli("push", "busybox", f"{domain}/public/busybox:1")
    cli("push", "busybox", f"{domain}/secret/busybox:1")
    cli("logout", domain)
    assert other_cli("pull", f"{domain}/public/busybox:1").returncode == 0
    assert (None, ["repository:public/busybox:pull"]) in token_server.requests
    denied = other_cli("pull", f"{domain}/secret/busybox:1", check=False)
    assert denied.returncode == 1
    assert f"at {domain}" in denied.err and "login" in denied.err


def test_token_auth_wrong_password_names_the_registry(cli, token_registry):
    domain = token_registry.domain
    result = cli("login", "-u", "alice", "-p", "nope", domain, check=False)
    assert result.returncode == 1
    assert f"unauthorized: incorrect username or password at {domain}" in result.err
    assert "Traceback" not in result.err


def test_credentials_from_a_credential_helper(tmp_path, cli, other_cli, busybox, basic_registry):
    """``credsStore`` names ``docker-credential-<name>``: login stores through it, pulls read from it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    vault = tmp_path / "vault.json"
    helper = bin_dir / "docker-credential-testvault"
    helper.write_text(_HELPER.format(vault=str(vault)))
    helper.chmod(0o755)
    os.makedirs(cli.env["DOCKER_CONFIG"], exist_ok=True)
    with open(os.path.join(cli.env["DOCKER_CONFIG"], "config.json"), "w") as f:
        json.dump({"credsStore": "testvault"}, f)
    for tool in (cli, other_cli):
        tool.env["PATH"] = f"{bin_dir}:{tool.env['PATH']}"
    domain = basic_registry.domain
    cli("login", "-u", "alice", "--password-stdin", domain, input=USERS["alice"].encode())
    assert json.loads(vault.read_text())[domain]["Secret"] == "wonderland"
    assert "auth" not in _config(cli)["auths"].get(domain, {})
    cli("push", "busybox", f"{domain}/vault/busybox:1")
    other_cli("pull", f"{domain}/vault/busybox:1")
    cli("logout", domain)
    assert domain not in json.loads(vault.read_text())
