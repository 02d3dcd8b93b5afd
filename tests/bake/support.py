"""Running ``pybuild bake`` as a user does: in the directory holding the bake files, with this checkout's
code and a chosen environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
#: variables of the machine that the bake files of the tests use: never inherited
_SCRUBBED = ("TAG", "DEBUG", "REGISTRY", "API_TAG", "FROM_ENV", "NAME", "PYTHONPATH")


def bake(cwd: Path, *args: str, root: Path | None = None, env: dict | None = None, stdin: bytes | None = None):
    """``pybuild [--root ROOT] bake ARGS`` run in ``cwd``; a CompletedProcess with text output."""
    environ = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    environ["PYTHONPATH"] = str(CHECKOUT)
    environ.update(env or {})
    command = [sys.executable, "-m", "builder", *(["--root", str(root)] if root else []), "bake", *args]
    return subprocess.run(command, cwd=cwd, env=environ, input=stdin, capture_output=True)
