"""Record what BuildKit v0.13 makes of each case under ``buildkit/`` into ``buildkit/<case>/buildkit.json``
(a development aid; the tests read the recordings and never need BuildKit).

Run with the reference up (``eval "$(/work/shared/tools/reference-buildkit.sh)"``) and the tests' busybox image
loaded there as ``busybox:latest`` (``busybox_rootfs`` → ``pybuild import`` → ``pybuild save`` →
``docker load``), so both builders start from the same files: ``python3 -m tests.build.record_buildkit
[CASE...]``. A case is a directory holding a ``Buildfile``, its context files and optionally ``args`` (extra
``docker build`` arguments, shell words). The image config is kept as BuildKit wrote it, the history and the
entries of every layer the case's own steps made; a failed build keeps BuildKit's last error line.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).parent / "buildkit"
NOTE = "recorded from Docker 26.1's BuildKit v0.13 with tests/build/record_buildkit.py; base layers omitted"


def layer_entry(layer: tarfile.TarFile, member: tarfile.TarInfo) -> list:
    """``[name, type, permission bits (octal text), uid, gid, size, link target, content digest]``."""
    digest = hashlib.sha256(layer.extractfile(member).read()).hexdigest()[:16] if member.isreg() else ""
    mode = oct(member.mode & 0o7777)
    return [member.name.rstrip("/"), member.type.decode(), mode, member.uid, member.gid, member.size,
            member.linkname, digest]  # fmt: skip


def read_image(archive: Path, own_history: int) -> tuple[dict, list[dict], list[list[list]]]:
    """The config, the last ``own_history`` history entries, and the entries of the layers they made."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        config = json.load(outer.extractfile(manifest["Config"]))
        history = config["history"]
        own = history[len(history) - own_history :]
        made = sum(1 for h in own if not h.get("empty_layer"))
        layers = []
        for name in manifest["Layers"][len(manifest["Layers"]) - made :] if made else []:
            with tarfile.open(fileobj=outer.extractfile(name)) as layer:
                layers.append([layer_entry(layer, m) for m in layer.getmembers()])
    return config, own, layers


def base_history(case: Path) -> int:
    """How many history entries the final stage's base image contributes: none for ``scratch``, one for the
    busybox image (``pybuild import`` writes one); a stage named in ``FROM`` is followed to its own base."""
    stages: dict[str, str] = {}
    image = ""
    for line in (case / "Buildfile").read_text().splitlines():
        words = line.split()
        if words and words[0].upper() == "FROM":
            names = [w for w in words[1:] if not w.startswith("--")]
            image = stages.get(names[0].lower(), names[0])
            if len(names) == 3 and names[1].upper() == "AS":
                stages[names[2].lower()] = image
    return 0 if image == "scratch" else 1


def record(case: Path) -> dict:
    extra = shlex.split((case / "args").read_text()) if (case / "args").exists() else []
    tag = f"parity-{case.name}"
    built = subprocess.run(
        ["docker", "build", "--network", "host", "-f", str(case / "Buildfile"), "-t", tag, *extra, str(case)],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        lines = [line for line in built.stderr.splitlines() if line.strip()]
        return {"note": NOTE, "error": lines[-1]}
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "image.tar"
        subprocess.run(["docker", "save", tag, "-o", str(archive)], check=True)
        subprocess.run(["docker", "rmi", tag], capture_output=True)
        with tarfile.open(archive) as outer:
            manifest = json.load(outer.extractfile("manifest.json"))[0]
            total = len(json.load(outer.extractfile(manifest["Config"]))["history"])
        config, history, layers = read_image(archive, total - base_history(case))
    history = [
        {"created_by": h.get("created_by", ""), "empty_layer": bool(h.get("empty_layer"))} for h in history
    ]
    return {"note": NOTE, "config": config["config"], "history": history, "layers": layers}


def main(names: list[str]) -> None:
    cases = [HERE / name for name in names] or sorted(p for p in HERE.iterdir() if (p / "Buildfile").exists())
    for case in cases:
        result = record(case)
        (case / "buildkit.json").write_text(json.dumps(result, indent=1) + "\n")
        print(case.name, result.get("error") or f"{len(result['layers'])} layers", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
