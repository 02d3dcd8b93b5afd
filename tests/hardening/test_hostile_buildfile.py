"""Hostile Buildfiles (issue 20, items 6, 7 and 10): deep nesting, many stages, expansion bombs, bare
carriage returns and very long files give a located error or a result, in bounded time, never a traceback.

Expectations marked "BuildKit v0.13" were recorded with the reference (Docker 26.1, ``docker buildx build``).
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.build.conftest import Pybuild


def _tool(tmp_path: Path) -> Pybuild:
    return Pybuild(tmp_path / "store")


def _outline(tool: Pybuild, tmp_path: Path, text: str | bytes, *, timeout: float = 120):
    path = tmp_path / "Buildfile"
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return tool("outline", "-f", str(path), str(tmp_path), check=False, timeout=timeout)


def _assert_located(result, fragment: str, line: int) -> None:
    assert result.returncode == 2, result.err
    assert "Traceback" not in result.err
    assert f"Buildfile:{line}:" in result.err, result.err
    assert fragment in result.err, result.err


# --- a bare "\r" is not a line end (item 10) ---------------------------------------------------------------


def test_a_bare_carriage_return_does_not_end_a_line(tmp_path: Path) -> None:
    tool = _tool(tmp_path)
    # BuildKit v0.13: "dockerfile parse error on line 2: Syntax error - can't find = in "LABEL". …"
    result = _outline(tool, tmp_path, b"FROM scratch\nENV a=b\rLABEL x=1\n")
    _assert_located(result, 'can\'t find = in "LABEL"', 2)
    # BuildKit v0.13: "dockerfile parse error on line 1: FROM requires either one or three arguments"
    result = _outline(tool, tmp_path, b"FROM scratch\rENV a=b\n")
    _assert_located(result, "FROM requires either one or three arguments", 1)
    # ... and through standard input alike
    result = tool("outline", "-f", "-", str(tmp_path), input=b"FROM scratch\rENV a=b\n", check=False)
    assert result.returncode == 2 and "FROM requires either one or three arguments" in result.err


def test_carriage_returns_stay_in_a_heredoc_body(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Buildfile").write_bytes(b"FROM scratch\r\nCOPY <<EOF /x\r\nab\r\ncd\rEF\r\nEOF\r\n")
    _tool(tmp_path)("build", "-o", f"type=local,dest={tmp_path / 'out'}", str(ctx))
    # BuildKit v0.13 writes the body's bytes as they are: "ab\r\ncd\rEF\r\n"
    assert (tmp_path / "out" / "x").read_bytes() == b"ab\r\ncd\rEF\r\n"
