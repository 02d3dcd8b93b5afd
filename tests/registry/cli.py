"""Run the ``pybuild`` CLI of this checkout in a child process with a private Docker config directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Cli:
    """``cli(*args)`` runs ``pybuild --root ROOT *args`` with ``DOCKER_CONFIG`` set; ``.out``/``.err`` text."""

    def __init__(self, root: Path, docker_config: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.env = {**os.environ, "DOCKER_CONFIG": str(docker_config), **(env or {})}

    def __call__(self, *args: str, check: bool = True, input: bytes | None = None, timeout: float = 300):
        result = subprocess.run(
            [sys.executable, "-m", "builder", "--root", str(self.root), *args],
            capture_output=True,
            input=input,
            cwd=REPO,
            env=self.env,
            timeout=timeout,
        )
        result.out = result.stdout.decode("utf-8", "replace")
        result.err = result.stderr.decode("utf-8", "replace")
        if check and result.returncode != 0:
            raise AssertionError(f"pybuild {' '.join(args)} exited {result.returncode}:\n{result.err}")
        return result
