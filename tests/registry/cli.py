"""Run the ``pybuild`` CLI of this checkout in a child process with a private Docker config directory."""

from __future__ import annotations

import os
from pathlib import Path

from tests.build.conftest import Pybuild


class Cli(Pybuild):
    """`Pybuild` with ``DOCKER_CONFIG`` set; ``env`` is the whole environment its calls get (tests may
    change it, e.g. its ``PATH``)."""

    def __init__(self, root: Path, docker_config: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(root, {**os.environ, "DOCKER_CONFIG": str(docker_config), **(env or {})})
