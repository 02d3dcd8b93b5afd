"""Rootless builds give the images root builds give: the same flattened tree (owners, modes, contents,
links, xattrs) and the same config, for the samples and the core integration Buildfiles."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rootless.conftest import REPO
from tests.rootless.trees import config_without_times, flattened
from tests.support.images import busybox_rootfs

CASES = {
    "hello": (REPO / "samples/hello", []),
    "multistage": (REPO / "samples/multistage", []),
    **{
        case.name: (case, shlex.split((case / "args").read_text()) if (case / "args").exists() else [])
        for case in sorted((REPO / "tests/build/buildkit").iterdir())
        if (case / "Buildfile").exists() and "error" not in json.loads((case / "buildkit.json").read_text())
    },
}


def root_pybuild(store: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "builder", "--root", str(store), *args], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, f"pybuild {' '.join(args)} as root failed:\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def stores(user, tmp_path_factory):
    """A root store and the user's store holding the same ``busybox:latest`` (the user's loaded from the
    root one's archive, so it is also unpacked by the user)."""
    work = tmp_path_factory.mktemp("parity")
    root_store = work / "store"
    root_pybuild(root_store, "import", str(busybox_rootfs(work / "busybox")), "busybox:latest")
    base = user.home / "busybox.tar"
    root_pybuild(root_store, "save", "busybox:latest", "-o", str(base))
    user.give(base)
    user.pybuild("load", "-i", str(base))
    return root_store


@pytest.mark.parametrize("case", sorted(CASES))
def test_rootless_image_equals_root_image(user, stores, case: str, tmp_path: Path):
    source, extra = CASES[case]
    context = user.home / f"ctx-{case}"
    # a file an argument names inside the case (a secret) is read from the user's copy of it
    extra = [arg.replace(f"tests/build/buildkit/{case}/", f"{context}/") for arg in extra]
    shutil.copytree(source, context)
    user.give(context)
    root_pybuild(stores, "-f", str(context / "Buildfile"), "-t", f"{case}:1", *extra, str(context))
    root_archive = tmp_path / "root.tar"
    root_pybuild(stores, "save", f"{case}:1", "-o", str(root_archive))

    user.pybuild("-f", str(context / "Buildfile"), "-t", f"{case}:1", *extra, str(context))
    user_archive = user.home / f"{case}.tar"
    user.pybuild("save", f"{case}:1", "-o", str(user_archive))

    assert flattened(user_archive) == flattened(root_archive)
    assert config_without_times(user_archive) == config_without_times(root_archive)
