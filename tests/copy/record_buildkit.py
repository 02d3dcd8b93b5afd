"""Record what BuildKit v0.13 makes of each case in ``cases.py`` into ``buildkit/<case>.json`` (a development
aid).

Run with the reference BuildKit up (``eval "$(/work/shared/tools/reference-buildkit.sh)"``) and the tests'
busybox image loaded there as ``busybox:pybuild-copy`` (``busybox_rootfs`` → ``pybuild import`` →
``pybuild save`` → ``docker load`` → ``docker tag``), so both builders start from the same files:
``python3 -m tests.copy.record_buildkit [CASE...]``. Each case is built with ``docker build --network host``;
the image is saved and the entries of each COPY/ADD layer written down, or the last line BuildKit printed.
Contexts get fixed file times, and BuildKit keys a context file by its path, size and time: a case whose file
changes but keeps its size (a tar archive) must also change the file's name, or BuildKit reuses the old one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.copy.cases import BASE, CASES, make_context
from tests.copy.layers import image_layers

HERE = Path(__file__).parent / "buildkit"
REFERENCE_BASE = "busybox:pybuild-copy"
NOTE = "recorded from Docker 26.1's BuildKit v0.13 with tests/copy/record_buildkit.py"


def record(name: str) -> dict:
    case = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        context = make_context(case, Path(tmp))
        # BuildKit reads a copy outside the context naming its base; the context keeps the original text.
        buildfile = Path(tmp) / "Dockerfile"
        buildfile.write_text(case.buildfile.replace(BASE, REFERENCE_BASE))
        tag = f"copycase-{name}"
        built = subprocess.run(
            ["docker", "build", "--network", "host", "-f", str(buildfile), "-t", tag, str(context)],
            capture_output=True,
            text=True,
        )
        if built.returncode != 0:
            lines = [line for line in built.stderr.splitlines() if line.strip()]
            return {"note": NOTE, "error": lines[-1]}
        archive = Path(tmp) / "image.tar"
        subprocess.run(["docker", "save", tag, "-o", str(archive)], check=True)
        subprocess.run(["docker", "rmi", tag], capture_output=True)
        return {"note": NOTE, "layers": image_layers(archive)}


def main(names: list[str]) -> None:
    for name in names or sorted(CASES):
        result = record(name)
        (HERE / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
        print(name, "error" if "error" in result else len(result["layers"]), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
