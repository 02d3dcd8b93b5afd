"""COPY straight into the root directory, the commonest destination of all."""

from __future__ import annotations

from pathlib import Path

from tests.build.conftest import write_context


def test_copy_file_and_directory_contents_to_root(pybuild, tmp_path: Path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox:latest\nCOPY top.txt /\nCOPY tree/ /\nCOPY top.txt .\n",
        {"top.txt": "top\n", "tree/a/b.txt": "deep\n"},
    )
    pybuild("-t", "root:1", str(context))
    assert pybuild("run", "root:1", "cat", "/top.txt", "/a/b.txt").out == "top\ndeep\n"
