"""``--insecure-registry`` reaches every registry client a command or a build makes: push, pull, login, FROM's
pull, ``--cache-to``/``--cache-from`` and ``--push``, and the Python API's ``insecure_registries``.

The registry listens on 127.0.0.2, a loopback address pybuild does not treat as loopback by name: without the
option it is spoken to over HTTPS, which a plain-HTTP registry cannot answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.errors import BuildError
from tests.registry.cli import Cli
from tests.registry.servers import Registry


@pytest.fixture
def far_registry(tmp_path: Path):
    server = Registry(tmp_path / "far-registry", host="127.0.0.2")
    yield server
    server.stop()


def test_push_and_pull_need_the_option(cli, other_cli, layered, far_registry):
    ref = f"{far_registry.domain}/team/app:1"
    refused = cli("push", layered, ref, check=False)
    assert refused.returncode != 0 and far_registry.domain in refused.err
    assert "Traceback" not in refused.err
    cli("--insecure-registry", far_registry.domain, "push", layered, ref)
    assert other_cli("pull", ref, check=False).returncode != 0
    # a bare host name covers every port of that host
    pulled = other_cli("--insecure-registry", "127.0.0.2", "pull", ref)
    assert "Downloaded newer image" in pulled.out
    assert other_cli("run", ref).out == "hello from the context\n"


def test_a_build_pulls_caches_and_pushes_through_the_option(
    cli, other_cli, layered, far_registry, tmp_path, _private_docker_config
):
    base = f"{far_registry.domain}/base/app:1"
    cli("--insecure-registry", far_registry.domain, "push", layered, base)
    context = tmp_path / "far-context"
    context.mkdir()
    (context / "Buildfile").write_text(f"FROM {base}\nRUN echo more > /more.txt\n")
    cache = f"type=registry,ref={far_registry.domain}/cache/app:c"
    target = f"{far_registry.domain}/team/built:1"
    insecure = ("--insecure-registry", far_registry.domain)
    refused = other_cli("build", "-t", target, str(context), check=False)
    assert refused.returncode != 0 and far_registry.domain in refused.err
    other_cli(*insecure, "build", "--cache-to", cache, "--push", "-t", target, str(context))
    fresh = Cli(tmp_path / "store3", _private_docker_config)
    built = fresh(
        *insecure, "build", "--progress", "plain", "--cache-from", cache, "-t", "again:1", str(context)
    )
    assert "CACHED" in built.err
    fresh(*insecure, "pull", target)
    assert fresh("run", target, "cat", "/more.txt").out == "more\n"


def test_the_python_api_takes_insecure_registries(cli, layered, far_registry, tmp_path):
    import builder

    base = f"{far_registry.domain}/base/app:1"
    cli("--insecure-registry", far_registry.domain, "push", layered, base)
    context = tmp_path / "api-context"
    context.mkdir()
    (context / "Buildfile").write_text(f"FROM {base}\nRUN echo api > /api.txt\n")
    root = tmp_path / "api-store"
    with pytest.raises(BuildError):
        builder.build(context, root=root, tags=["api:1"])
    result = builder.build(context, root=root, tags=["api:1"], insecure_registries=[far_registry.domain])
    assert result.manifest_digest.startswith("sha256:")


def test_the_environment_is_not_read(cli, layered, far_registry):
    """Insecure registries are an option of the command, never a variable a part of pybuild sets for another."""
    ref = f"{far_registry.domain}/team/app:1"
    env = {"PYBUILD_INSECURE_REGISTRIES": far_registry.domain}
    assert cli("push", layered, ref, check=False, env=env).returncode != 0
