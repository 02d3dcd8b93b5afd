"""``pybuild bake`` builds for real (root: runc, overlayfs): several targets sharing a base stage, a
``target:`` context, a compose file's services, and a failing target named in its error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bake.support import bake
from tests.support.images import import_busybox, pybuild


@pytest.fixture
def store(tmp_path) -> Path:
    root = tmp_path / "store"
    import_busybox(root, "busybox:latest", tmp_path)
    return root


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def run_in(store: Path, image: str, *command: str) -> str:
    return pybuild(store, "run", "--rm", image, *command).stdout.decode()


SHARED = """\
FROM busybox AS base
RUN echo shared-$(cat /proc/sys/kernel/random/uuid) > /base-id
FROM base AS api
ARG NAME=api
RUN echo "$NAME" > /name
FROM base AS web
RUN echo web > /name
"""

BAKE = """\
variable "TAG" {
  default = "dev"
}
group "default" {
  targets = ["api", "web", "tools"]
}
target "_common" {
  context = "."
  dockerfile = "Shared.Dockerfile"
}
target "api" {
  inherits = ["_common"]
  target = "api"
  tags = ["bake/api:${TAG}"]
  args = {
    NAME = "api-${upper(TAG)}"
  }
}
target "web" {
  inherits = ["_common"]
  target = "web"
  tags = ["bake/web:${TAG}", "bake/web:latest"]
}
target "tools" {
  name = "tools-${v}"
  matrix = {
    v = ["a", "b"]
  }
  dockerfile-inline = <<EOT
FROM busybox
RUN echo tools-${v} > /name
EOT
  tags = ["bake/tools:${v}"]
}
"""


def test_targets_sharing_a_base_stage_are_all_built_and_tagged(tmp_path, store):
    work = write(tmp_path / "work", {"docker-bake.hcl": BAKE, "Shared.Dockerfile": SHARED})
    result = bake(work, "--progress=plain", "--trace", "trace.json", root=store, env={"TAG": "ci"})
    assert result.returncode == 0, result.stderr.decode()
    log = result.stderr.decode()
    for name in ("api", "web", "tools-a", "tools-b"):
        assert f"[{name} " in log
    # one solve: the shared RUN runs for one target, the other takes its layer
    shared = [line.split()[0] for line in log.splitlines() if "RUN echo shared-" in line and "[" in line]
    assert len(shared) == 2
    outcomes = [line for line in log.splitlines() if line.split()[:1] and line.split()[0] in shared]
    assert sum("running:" in line for line in outcomes) == 1
    assert sum(line.endswith("CACHED") for line in outcomes) == 1
    spans = [e for e in json.loads((work / "trace.json").read_text())["traceEvents"] if e.get("ph") == "X"]
    shared_spans = [e for e in spans if "RUN echo shared-" in e["name"]]
    assert sorted(e["args"]["cached"] for e in shared_spans) == [False, True]
    assert run_in(store, "bake/api:ci", "cat", "/name") == "api-CI\n"
    assert run_in(store, "bake/web:ci", "cat", "/name") == "web\n"
    assert run_in(store, "bake/web:latest", "cat", "/name") == "web\n"
    assert run_in(store, "bake/tools:a", "cat", "/name") == "tools-a\n"
    assert run_in(store, "bake/tools:b", "cat", "/name") == "tools-b\n"
    # the shared stage is the same layer under both targets: it ran once
    assert run_in(store, "bake/api:ci", "cat", "/base-id") == run_in(store, "bake/web:ci", "cat", "/base-id")
    again = bake(work, "--progress=plain", "api", "web", root=store, env={"TAG": "ci"})
    assert again.returncode == 0, again.stderr.decode()
    assert "running:" not in again.stderr.decode()  # everything cached
    fresh = bake(work, "--progress=plain", "--no-cache", "--load", "web", root=store, env={"TAG": "ci"})
    assert fresh.returncode == 0, fresh.stderr.decode()
    assert "running: --no-cache" in fresh.stderr.decode()
    assert "[api " not in fresh.stderr.decode()


def test_a_target_context_feeds_one_target_into_another(tmp_path, store):
    work = write(
        tmp_path / "work",
        {
            "docker-bake.hcl": 'target "app" {\n  dockerfile = "app.Dockerfile"\n'
            '  contexts = {\n    base = "target:base"\n  }\n  tags = ["bake/app:1"]\n}\n'
            'target "base" {\n  dockerfile = "base.Dockerfile"\n}\n',
            "base.Dockerfile": "FROM busybox\nRUN echo from-base > /base\n",
            "app.Dockerfile": "FROM base\nRUN cat /base > /app\n",
        },
    )
    result = bake(work, "app", root=store)
    assert result.returncode == 0, result.stderr.decode()
    assert run_in(store, "bake/app:1", "cat", "/app") == "from-base\n"


def test_a_compose_files_services_build(tmp_path, store):
    work = write(
        tmp_path / "work",
        {
            "compose.yaml": "services:\n  db:\n    image: postgres:16\n"
            "  api:\n    image: bake/compose-api:${API_TAG:-dev}\n    build:\n      context: ./api\n"
            "      args:\n        GREETING: hello\n"
            "  worker:\n    image: bake/compose-worker\n    build:\n      context: worker\n"
            "      dockerfile: Worker.Dockerfile\n      target: final\n",
            "api/Dockerfile": "FROM busybox\nARG GREETING\nCOPY msg /msg\nRUN echo $GREETING >> /msg\n",
            "api/msg": "api\n",
            "worker/Worker.Dockerfile": "FROM busybox AS final\nRUN echo worker > /msg\n"
            "FROM final\nRUN false\n",
        },
    )
    result = bake(work, root=store, env={"API_TAG": "2"})
    assert result.returncode == 0, result.stderr.decode()
    assert run_in(store, "bake/compose-api:2", "cat", "/msg") == "api\nhello\n"
    assert run_in(store, "bake/compose-worker", "cat", "/msg") == "worker\n"


def test_a_failing_target_stops_the_build_and_is_named(tmp_path, store):
    work = write(
        tmp_path / "work",
        {
            "docker-bake.hcl": 'group "default" {\n  targets = ["bad", "good"]\n}\n'
            'target "bad" {\n  context = "bad"\n}\n'
            'target "good" {\n  context = "good"\n  tags = ["bake/good"]\n}\n',
            "bad/Dockerfile": "FROM busybox\nRUN echo going && exit 3\n",
            "good/Dockerfile": "FROM busybox\nRUN touch /ok\n",
        },
    )
    result = bake(work, root=store)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert (
        'target "bad": bad/Dockerfile:2:1: error: RUN exited with code 3\n  RUN echo going && exit 3\n  ^'
        in err
    )
    # the failure stops the bake before any target is tagged
    assert pybuild(store, "images", "-q", "bake/good", check=False).stdout.strip() == b""
    (work / "bad/Dockerfile").write_text("FROM busybox\nRUNN echo\n")
    result = bake(work, root=store)
    assert result.returncode == 2
    assert 'target "bad": bad/Dockerfile:2:1: error: unknown instruction: RUNN' in result.stderr.decode()
    assert "  RUNN echo\n  ^" in result.stderr.decode()


def test_a_bad_bake_file_is_a_located_error(tmp_path, store):
    work = write(tmp_path / "work", {"docker-bake.hcl": 'target "a" {\n  tags = [upperr("x")]\n}\n'})
    result = bake(work, root=store)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.startswith(
        'docker-bake.hcl:2:11: error: Call to unknown function: there is no function named "upperr"\n'
        '    tags = [upperr("x")]\n'
        "            ^"
    ), err


def test_push_pushes_every_targets_tags(tmp_path, store, monkeypatch):
    from tests.registry.servers import Registry

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    registry = Registry(tmp_path / "registry")
    try:
        work = write(
            tmp_path / "work",
            {
                "docker-bake.hcl": 'variable "REG" {}\ngroup "default" {\n  targets = ["one", "two"]\n}\n'
                'target "one" {\n  dockerfile-inline = "FROM busybox\\nRUN echo one > /n\\n"\n'
                '  tags = ["${REG}/bake/one:1"]\n}\n'
                'target "two" {\n  dockerfile-inline = "FROM busybox\\nRUN echo two > /n\\n"\n'
                '  tags = ["${REG}/bake/two:1"]\n}\n',
            },
        )
        result = bake(work, "--push", root=store, env={"REG": registry.domain})
        assert result.returncode == 0, result.stderr.decode()
        other = tmp_path / "other-store"
        for name in ("one", "two"):
            pybuild(other, "pull", f"{registry.domain}/bake/{name}:1")
            assert run_in(other, f"{registry.domain}/bake/{name}:1", "cat", "/n") == f"{name}\n"
    finally:
        registry.stop()
