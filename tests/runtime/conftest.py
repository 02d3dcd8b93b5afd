"""Shared fixtures for runtime tests: tiny real layers built from Debian's busybox-static, a state
directory checked for leftovers after every test, and a helper that runs a step and collects its output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.runtime.mounts import mountpoints_under
from tests.runtime.runtime_helpers import GROUP, PASSWD, Step, make_busybox_layer, runc_containers


@pytest.fixture(scope="session")
def busybox_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only by convention: tests must never write into it (they get upperdirs for that)."""
    return make_busybox_layer(tmp_path_factory.mktemp("busybox") / "layer")


@pytest.fixture(scope="session")
def system_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layer like a real base image's top: /etc with passwd and group, and empty /dev, /proc, /sys."""
    layer = tmp_path_factory.mktemp("system") / "layer"
    (layer / "etc").mkdir(parents=True)
    (layer / "etc" / "passwd").write_text(PASSWD)
    (layer / "etc" / "group").write_text(GROUP)
    for name in ("dev", "proc", "sys", "tmp"):
        (layer / name).mkdir()
    (layer / "tmp").chmod(0o1777)
    return layer


@pytest.fixture
def base(system_layer: Path, busybox_layer: Path) -> list[Path]:
    """Lowerdirs (top first) of a small but complete image."""
    return [system_layer, busybox_layer]


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A state directory that must be empty of mounts, run directories and containers after the test."""
    state = tmp_path / "state"
    yield state
    assert mountpoints_under(tmp_path) == []
    runs = state / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []
    assert runc_containers(state) == []


@pytest.fixture
def step(state_dir: Path, tmp_path: Path) -> Step:
    return Step(state_dir, tmp_path)
