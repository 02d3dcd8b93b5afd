"""``COPY --from=<image>`` and ``RUN --mount from=<image>`` pull an image the store lacks, as FROM does and as
BuildKit does, from a registry on 127.0.0.1; ``--pull=never`` refuses instead, naming the flag."""

# ruff: noqa: F811  (the registry fixtures are imported by name and then requested as arguments)
from __future__ import annotations

from pathlib import Path

from tests.build.conftest import write_context
from tests.registry.conftest import (  # noqa: F401  (fixtures)
    _private_docker_config,
    busybox,
    busybox_dir,
    cli,
    other_cli,
    registry,
)


def _push(cli, registry, tmp_path: Path, name: str, text: str) -> str:
    ref = f"{registry.domain}/team/{name}:1"
    context = write_context(tmp_path / name, f"FROM busybox:latest\nRUN echo {text} > /origin\n")
    cli("build", "--push", "-t", ref, str(context))
    return ref


def test_copy_from_and_mount_from_pull_missing_images(cli, other_cli, busybox, busybox_dir, registry, tmp_path):
    copied = _push(cli, registry, tmp_path, "copied", "copied-from-the-registry")
    mounted = _push(cli, registry, tmp_path, "mounted", "mounted-from-the-registry")
    other_cli("import", str(busybox_dir), "busybox:latest")  # the base, but neither image
    app = write_context(
        tmp_path / "app",
        f"FROM busybox:latest\nCOPY --from={copied} /origin /copied\n"
        f"RUN --mount=from={mounted},target=/m cat /m/origin > /mounted\n",
    )
    other_cli("build", "-t", "app:1", str(app))
    shown = other_cli("run", "app:1", "cat", "/copied", "/mounted").out
    assert shown == "copied-from-the-registry\nmounted-from-the-registry\n"


def test_pull_never_names_the_flag(other_cli, busybox_dir, registry, tmp_path: Path):
    other_cli("import", str(busybox_dir), "busybox:latest")
    missing = f"{registry.domain}/team/absent:1"
    lines = {"--from": f"COPY --from={missing} /x /x", "--mount": f"RUN --mount=from={missing},target=/m true"}
    for flag, line in lines.items():
        app = write_context(tmp_path / flag.strip("-"), f"FROM busybox:latest\n{line}\n")
        failed = other_cli("build", "--pull=never", str(app), check=False)
        assert failed.returncode == 1
        assert f"Buildfile:2:1: error: {flag}" in failed.err and "team/absent" in failed.err
        assert "Traceback" not in failed.err
