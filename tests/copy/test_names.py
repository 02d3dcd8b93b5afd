"""Context file names that are not UTF-8: Linux allows any bytes but ``/`` and NUL, and they are copied as
they are (BuildKit copies them too), cached, and kept byte for byte in the layer."""

from __future__ import annotations

import os
from pathlib import Path

from tests.build.conftest import write_context


def test_a_name_that_is_not_utf8_is_copied_byte_for_byte(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nCOPY . /app\n")
    name = b"caf\xe9-latin1.txt"  # Latin-1, not UTF-8
    with open(os.path.join(os.fsencode(context), name), "wb") as f:
        f.write(b"bytes\n")
    first = pybuild("--progress", "plain", "-t", "names:1", str(context))
    assert "Traceback" not in first.err
    again = pybuild("--progress", "plain", "-t", "names:1", str(context))
    assert "CACHED" in again.err
    out = tmp_path / "out"
    pybuild("build", "-o", f"type=local,dest={out}", str(context))
    assert sorted(os.listdir(os.fsencode(out / "app"))) == [b"Buildfile", name]
    with open(os.path.join(os.fsencode(out / "app"), name), "rb") as f:
        assert f.read() == b"bytes\n"
