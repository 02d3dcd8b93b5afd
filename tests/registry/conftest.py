"""Fixtures for registry tests: registries on 127.0.0.1 (plain, htpasswd, token), a fault proxy, stores
holding test images, and the CLI with a private Docker config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.registry.cli import Cli
from tests.registry.servers import FaultProxy, Registry, TokenServer
from tests.support.images import busybox_rootfs

USERS = {"alice": "wonderland"}


@pytest.fixture(autouse=True)
def _private_docker_config(tmp_path: Path, monkeypatch) -> Path:
    """Every test gets its own Docker config directory, so no real credentials are read or written."""
    config = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    return config


@pytest.fixture
def registry(tmp_path: Path):
    server = Registry(tmp_path / "registry")
    yield server
    server.stop()


@pytest.fixture
def basic_registry(tmp_path: Path):
    server = Registry(tmp_path / "basic-registry", auth="htpasswd", users=USERS)
    yield server
    server.stop()


@pytest.fixture
def token_server(tmp_path: Path):
    server = TokenServer(tmp_path / "token", USERS, public=("public/busybox",))
    yield server
    server.stop()


@pytest.fixture
def token_registry(tmp_path: Path, token_server: TokenServer):
    server = Registry(tmp_path / "token-registry", auth="token", token=token_server)
    yield server
    server.stop()


@pytest.fixture
def proxy(registry: Registry):
    """A `FaultProxy` in front of ``registry``: talk to ``proxy.domain`` to be logged and faulted."""
    server = FaultProxy(registry.domain)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def busybox_dir(tmp_path_factory) -> Path:
    return busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


@pytest.fixture
def cli(tmp_path: Path, _private_docker_config: Path) -> Cli:
    """The CLI on a fresh store ``tmp_path/store``."""
    return Cli(tmp_path / "store", _private_docker_config)


@pytest.fixture
def other_cli(tmp_path: Path, _private_docker_config: Path) -> Cli:
    """The CLI on a second, empty store (another machine)."""
    return Cli(tmp_path / "store2", _private_docker_config)


@pytest.fixture
def busybox(cli: Cli, busybox_dir: Path) -> str:
    """``busybox:latest`` imported into ``cli``'s store; returns its image ID."""
    return cli("import", str(busybox_dir), "busybox:latest").out.strip()


@pytest.fixture
def layered(cli: Cli, busybox: str, tmp_path: Path) -> str:
    """``app:1``: busybox plus a COPY layer and a RUN layer, built in ``cli``'s store. Returns its ref."""
    context = tmp_path / "context"
    context.mkdir()
    (context / "hello.txt").write_text("hello from the context\n")
    (context / "Buildfile").write_text(
        'FROM busybox\nCOPY hello.txt /hello.txt\nRUN echo built > /built.txt\nCMD ["cat", "/hello.txt"]\n'
    )
    cli("build", "-f", str(context / "Buildfile"), "-t", "app:1", str(context))
    return "app:1"
