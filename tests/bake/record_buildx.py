"""Records ``docker buildx bake --print`` for every case of print_cases.py into recorded/NAME.json.

Run with the reference started: ``eval "$(../shared/tools/reference-buildkit.sh)"`` then
``python3 tests/bake/record_buildx.py``. Each case runs in a copy of its directory with only the
environment the case sets (plus what docker needs).
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from print_cases import CASES  # noqa: E402


def main() -> None:
    keep = {k: os.environ[k] for k in ("PATH", "DOCKER_HOST", "DOCKER_CONFIG", "HOME") if k in os.environ}
    for name, directory, args, env in CASES:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch) / "work"
            shutil.copytree(HERE / "cases" / directory, work)
            done = subprocess.run(
                ["docker", "buildx", "bake", "--print", *args],
                cwd=work,
                env={**keep, **env},
                capture_output=True,
                text=True,
                check=True,
            )
        (HERE / "recorded" / f"{name}.json").write_text(done.stdout)
        print(f"recorded {name}")


if __name__ == "__main__":
    main()
