"""The build fixtures (a store with ``busybox:latest``, the CLI in a child process) and helpers for the
``RUN --mount`` tests."""

from __future__ import annotations

import tarfile
from pathlib import Path

from tests.build.conftest import busybox_dir, pybuild, write_context  # noqa: F401  (fixtures)


def added_entries(tool, tag: str, tmp_path: Path, *, skip: int = 1) -> list[list[str]]:
    """The entry names of each layer of ``tag`` above the first ``skip`` (the base), bottom first."""
    archive = tmp_path / f"{tag.replace(':', '_')}.tar"
    tool("save", tag, "-o", str(archive))
    import json

    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        layers = []
        for name in manifest["Layers"][skip:]:
            with tarfile.open(fileobj=outer.extractfile(name)) as layer:
                layers.append([m.name for m in layer.getmembers()])
    return layers


def step_output(err: str, needle: str) -> tuple[bool, list[str]]:
    """(cached?, output lines) of the first step whose plain-progress header contains ``needle``."""
    blocks: dict[str, list[str]] = {}
    header = None
    for line in err.splitlines():
        number, _, rest = line.partition(" ")
        if not number.startswith("#"):
            continue
        if number not in blocks and needle in rest and header is None:
            header = number
        blocks.setdefault(number, []).append(rest)
    if header is None:
        raise AssertionError(f"no step {needle!r} in:\n{err}")
    lines = blocks[header][1:]
    output = [rest.strip().split(" ", 1)[1] if " " in rest.strip() else "" for rest in lines if _timed(rest)]
    return "CACHED" in lines, output


def _timed(rest: str) -> bool:
    word = rest.strip().split(" ", 1)[0]
    return word.endswith("s") and word[:-1].replace(".", "", 1).isdigit()
