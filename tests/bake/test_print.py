"""``pybuild bake --print`` prints what ``docker buildx bake --print`` (buildx 0.13.1) printed for the same
files, arguments and environment (recorded/NAME.json; print_cases.py lists the cases)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.bake.print_cases import CASES, UNORDERED_GROUPS
from tests.bake.support import bake

HERE = Path(__file__).parent


@pytest.mark.parametrize(("name", "directory", "args", "env"), CASES, ids=[case[0] for case in CASES])
def test_print_matches_buildx(tmp_path, name, directory, args, env):
    work = tmp_path / "work"
    shutil.copytree(HERE / "cases" / directory, work)
    result = bake(work, "--print", *args, env=env)
    assert result.returncode == 0, result.stderr.decode()
    expected = (HERE / "recorded" / f"{name}.json").read_text()
    printed = result.stdout.decode()
    if name in UNORDERED_GROUPS:  # buildx lists compose services in a random order: compare them as sets
        printed_doc, expected_doc = json.loads(printed), json.loads(expected)
        for document in (printed_doc, expected_doc):
            for group in document.get("group", {}).values():
                group["targets"].sort()
        assert printed_doc == expected_doc
    else:
        assert printed == expected  # byte for byte: key order, indentation, Go's escapes of < > &
