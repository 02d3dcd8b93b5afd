"""Fixtures for the shared cache: the registry fixtures (a real ``docker-registry`` on 127.0.0.1, a counting
`FaultProxy`, two stores standing for two CI runners) and a multi-step context."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.build.conftest import write_context
from tests.registry import conftest as _registry_fixtures

# the registry tests' fixtures, shared rather than copied
_private_docker_config = _registry_fixtures._private_docker_config
registry, proxy = _registry_fixtures.registry, _registry_fixtures.proxy
cli, other_cli = _registry_fixtures.cli, _registry_fixtures.other_cli
busybox, busybox_dir = _registry_fixtures.busybox, _registry_fixtures.busybox_dir

#: Each RUN prints a marker (split by quotes in its text): only a step that runs shows it in the progress.
BUILDFILE = """\
FROM {base}
COPY a.txt /a.txt
RUN echo MARK""ER-ONE && cat /a.txt > /copy
WORKDIR /app
ENV GREETING=hi
RUN echo MARK""ER-TWO && echo "$GREETING two" > /app/two
RUN echo MARK""ER-THREE && echo three > /app/three
"""
MARKERS = ("MARKER-ONE", "MARKER-TWO", "MARKER-THREE")
LAYER_STEPS = 5


@pytest.fixture
def base(cli, other_cli, busybox, registry) -> str:
    """The busybox base in the registry (pushed by runner A), so both runners build on the same image;
    runner B pulls it straight from the registry, not through the counting proxy."""
    name = f"{registry.domain}/library/busybox:1"
    cli("push", "busybox:latest", name)
    return name


@pytest.fixture
def context(tmp_path: Path, base: str) -> Path:
    return write_context(tmp_path / "context", BUILDFILE.format(base=base), {"a.txt": "from the context\n"})
