"""Registry credentials in Docker's ``config.json``: read, store, erase — inline or through a helper.

The file is ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``. Credentials are found, as Docker
finds them, by the registry's key (`Endpoint.auth_key`: the domain, or ``https://index.docker.io/v1/`` for
Docker Hub):

* ``credHelpers[key]`` names a helper for this registry, else ``credsStore`` one for all: the program
  ``docker-credential-<name>`` is run with ``get`` (server URL on stdin, ``{"Username", "Secret"}`` on
  stdout), ``store`` (``{"ServerURL", "Username", "Secret"}`` on stdin) or ``erase`` (server URL on stdin);
* else ``auths[key].auth``, base64 of ``user:password`` (keys written with a scheme or a ``/v1/`` path, as
  older clients wrote them, match too).

The file is rewritten atomically with mode 0600 and keeps every field pybuild does not know.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuildError

HELPER_PREFIX = "docker-credential-"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and a secret (password or token) for one registry."""

    username: str
    password: str

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(username={self.username!r}, password=***)"


def config_path() -> Path:
    """``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``."""
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _read_config(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise BuildError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BuildError(f"{path} is not a JSON object")
    return data


def _write_config(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-")
    try:
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            json.dump(data, f, indent="\t")
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _key_variants(key: str) -> set[str]:
    """The spellings of one registry key older clients wrote (``https://h/v1/``, ``http://h``…)."""
    bare = key
    for scheme in ("https://", "http://"):
        bare = bare.removeprefix(scheme)
    bare = bare.split("/", 1)[0]
    return {bare, key}


def _matches(stored: str, key: str) -> bool:
    return bool(_key_variants(stored) & _key_variants(key))


def _helper_for(config: dict, key: str) -> str | None:
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict):
        for stored, name in helpers.items():
            if _matches(stored, key) and name:
                return str(name)
    store = config.get("credsStore")
    return str(store) if store else None


def _run_helper(name: str, action: str, payload: str) -> str:
    program = HELPER_PREFIX + name
    if shutil.which(program) is None:
        raise BuildError(f"credential helper {program} is not installed (named in {config_path()})")
    result = subprocess.run([program, action], input=payload, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        detail = (result.stdout or result.stderr).strip()
        raise BuildError(f"credential helper {program} {action} failed: {detail}")
    return result.stdout


def lookup(key: str) -> Credentials | None:
    """The credentials filed for the registry ``key``, or None (anonymous access)."""
    config = _read_config(config_path())
    helper = _helper_for(config, key)
    if helper is not None:
        try:
            out = _run_helper(helper, "get", key)
        except BuildError as exc:
            if "credentials not found" in exc.message.lower():
                return None
            raise
        try:
            data = json.loads(out)
            return Credentials(str(data["Username"]), str(data["Secret"]))
        except (ValueError, KeyError, TypeError):
            raise BuildError(f"credential helper {HELPER_PREFIX}{helper} printed no credentials") from None
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return None
    for stored, entry in auths.items():
        if not _matches(stored, key) or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            except ValueError:
                raise BuildError(f"{config_path()}: the auth entry for {stored} is not valid base64") from None
            return Credentials(user, password)
        if entry.get("username"):
            return Credentials(str(entry["username"]), str(entry.get("password", "")))
    return None


def store(key: str, credentials: Credentials) -> str:
    """File ``credentials`` for ``key`` (in the helper if one is configured); returns where they went."""
    path = config_path()
    config = _read_config(path)
    helper = _helper_for(config, key)
    if helper is not None:
        payload = {"ServerURL": key, "Username": credentials.username, "Secret": credentials.password}
        _run_helper(helper, "store", json.dumps(payload))
        # Docker also leaves an empty auths entry so the registry is listed as logged in.
        config.setdefault("auths", {})[key] = {}
        _write_config(path, config)
        return f"{HELPER_PREFIX}{helper}"
    auths = config.setdefault("auths", {})
    for stored in [k for k in auths if _matches(k, key)]:
        del auths[stored]
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    auths[key] = {"auth": token}
    _write_config(path, config)
    return str(path)


def erase(key: str) -> bool:
    """Forget the credentials for ``key``; returns False if none were filed."""
    path = config_path()
    config = _read_config(path)
    auths = config.get("auths") if isinstance(config.get("auths"), dict) else {}
    found = [k for k in auths if _matches(k, key)]
    helper = _helper_for(config, key)
    erased = False
    if helper is not None:
        try:
            _run_helper(helper, "erase", key)
            erased = True
        except BuildError as exc:
            if "not found" not in exc.message.lower():
                raise
    for stored in found:
        del auths[stored]
    if found:
        _write_config(path, config)
    return erased or bool(found)
