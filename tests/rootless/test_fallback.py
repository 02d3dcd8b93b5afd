"""Without subordinate ids: a clear error that says what to add, and the single-id mode for builds that
need no other owner (``FROM scratch`` + COPY). Also `pybuild info` for both kinds of user."""

from __future__ import annotations

import json

from tests.rootless.trees import flattened

SINGLE = {"PYBUILD_USERNS": "single"}


def test_without_subordinate_ids_the_error_says_what_to_add(plain_user):
    context = plain_user.write_context("ctx-refused", "FROM scratch\nCOPY a.txt /a.txt\n", {"a.txt": "a\n"})
    result = plain_user.pybuild("-f", str(context / "Buildfile"), "-t", "x:1", str(context), check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"/etc/subuid and /etc/subgid give none to user '{plain_user.name}'" in result.stderr
    assert f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {plain_user.name}" in result.stderr
    assert "PYBUILD_USERNS=single" in result.stderr


def test_single_id_mode_builds_scratch_and_copy(plain_user):
    context = plain_user.write_context(
        "ctx-single",
        'FROM scratch\nCOPY app/ /app/\nCOPY a.txt /etc/a.txt\nENV K=v\nCMD ["/app/run"]\n',
        {"a.txt": "a\n", "app/run": "#!/bin/sh\n", "app/data/d.txt": "d\n"},
    )
    (context / "app" / "run").chmod(0o755)
    plain_user.pybuild("-f", str(context / "Buildfile"), "-t", "single:1", str(context), env=SINGLE)
    archive = plain_user.home / "single.tar"
    plain_user.pybuild("save", "single:1", "-o", str(archive), env=SINGLE)

    tree = flattened(archive)
    assert {path: entry[:4] for path, entry in tree.items()} == {
        "app": ("5", 0o755, 0, 0),
        "app/run": ("0", 0o755, 0, 0),
        "app/data": ("5", 0o755, 0, 0),
        "app/data/d.txt": ("0", 0o644, 0, 0),
        "etc": ("5", 0o755, 0, 0),
        "etc/a.txt": ("0", 0o644, 0, 0),
    }
    inspected = json.loads(plain_user.pybuild("inspect", "single:1", env=SINGLE).stdout)
    config = inspected[0]["Config"] if isinstance(inspected, list) else inspected["config"]
    assert "K=v" in config["Env"]


def test_single_id_mode_refuses_other_owners(plain_user):
    buildfile = "FROM scratch\nCOPY --chown=1000:1000 a.txt /a\n"
    context = plain_user.write_context("ctx-chown-single", buildfile, {"a.txt": "a\n"})
    result = plain_user.pybuild("-f", str(context / "Buildfile"), str(context), env=SINGLE, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    # the id is not mapped: the kernel's EINVAL, located at the step
    assert "Buildfile:2:1: error: COPY: Invalid argument" in result.stderr


def test_info_reports_the_namespace_and_overlay_mode(user):
    result = user.run(user.python, "-c", INFO, "--json")
    info = json.loads(result.stdout)
    assert result.returncode == 0
    assert info["rootless"] and info["user"] == user.name
    assert info["subuid"] == ["200000-265535"] and info["subgid"] == ["200000-265535"]
    assert info["namespace"] == {"mode": "subid", "container_ids": 65537}
    assert info["overlay"] == "overlayfs (userxattr)"
    assert info["store"] == str(user.store) and info["builds"]


def test_info_without_subordinate_ids_says_what_to_add(plain_user):
    result = plain_user.run(plain_user.python, "-c", INFO, check=False)
    assert result.returncode == 1
    assert "subuid:      none" in result.stdout
    assert f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {plain_user.name}" in result.stdout
    assert "builds:      no" in result.stdout


#: `pybuild info` through its command module (the CLI registry entry is the integrator's to add).
INFO = """
import argparse, sys
from builder.commands import info
parser = argparse.ArgumentParser()
info.configure(parser)
args = parser.parse_args(sys.argv[1:])
args.root = None
sys.exit(info.run(args))
"""
