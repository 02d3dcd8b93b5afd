"""Builds meet registries: `--push` sends the result, and FROM pulls a base the store lacks (`--pull`)."""

from __future__ import annotations

from pathlib import Path

from tests.build.conftest import write_context


def test_build_push_then_build_from_it_on_an_empty_store(cli, other_cli, busybox, registry, tmp_path: Path):
    name = f"{registry.domain}/team/base:1"
    base = write_context(tmp_path / "base", "FROM busybox:latest\nRUN echo from-the-registry > /origin\n")
    cli("build", "--push", "-t", name, str(base))

    app = write_context(tmp_path / "app", f"FROM {name}\nRUN cat /origin > /copied\n")
    result = other_cli("build", "--progress=plain", "-t", "app:1", str(app))
    assert result.returncode == 0
    assert other_cli("run", "app:1", "cat", "/copied").out == "from-the-registry\n"


def test_pull_never_refuses_a_missing_base(other_cli, registry, tmp_path: Path):
    app = write_context(tmp_path / "app", f"FROM {registry.domain}/nothing/here:1\nRUN true\n")
    result = other_cli("build", "--pull=never", str(app), check=False)
    assert result.returncode != 0
    assert "nothing/here" in result.err and "Traceback" not in result.err


def test_push_without_a_name_is_a_usage_error(cli, busybox, tmp_path: Path):
    context = write_context(tmp_path / "c", "FROM busybox:latest\n")
    result = cli("build", "--push", str(context), check=False)
    assert result.returncode == 2 and "--push needs a name" in result.err


def test_output_type_registry_pushes_like_push(cli, other_cli, busybox, registry, tmp_path: Path):
    name = f"{registry.domain}/team/out:1"
    base = write_context(tmp_path / "base", "FROM busybox:latest\nRUN echo via-output > /o\n")
    cli("build", "-o", "type=registry", "-t", name, str(base))
    other_cli("pull", name)
    assert other_cli("run", name, "cat", "/o").out == "via-output\n"
