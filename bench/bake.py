"""The bake workload's inputs: a Buildfile whose ``base`` stage three targets share, and the bake file
(``docker-bake.hcl``) that names them, read alike by ``pybuild bake`` and ``docker buildx bake``.

The shared stage does real work (a second of sleep and 20 MB from /dev/urandom); each target adds a stage of
its own (a second and 5 MB, to a file named after the target, so the three steps are three operations). A
builder that solves the targets as one graph runs ``base`` once and the three target stages side by side.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.inputs import BUSYBOX_IMAGE

TARGETS = ("api", "web", "worker")

BUILDFILE = (
    f"FROM {BUSYBOX_IMAGE} AS base\n"
    "RUN sleep 1 && dd if=/dev/urandom of=/base bs=1M count=20\n"
    + "".join(
        f"\nFROM base AS {target}\nRUN sleep 1 && dd if=/dev/urandom of=/{target} bs=1M count=5\n"
        for target in TARGETS
    )
)


def tags(workload: str, targets: tuple[str, ...]) -> list[str]:
    """The image name each target is tagged with, in the order of ``targets``."""
    return [f"bench-{workload}-{target}:1" for target in targets]


def bake_file(directory: Path, workload: str, buildfile: Path, context: Path, targets: tuple[str, ...]) -> Path:
    """Write ``directory/WORKLOAD/docker-bake.hcl``: a group ``default`` of ``targets``, each building the stage
    of its name from ``buildfile`` over ``context`` (both absolute: bake resolves a relative context against
    the working directory, which differs between the tools). No ``network``: buildx 0.13's HCL has no such
    attribute (it ignores it, and ``--set *.network=`` is refused), so each tool's RUN gets its own default,
    the host's for pybuild and the daemon's default network for BuildKit. Rewritten each run, as the
    Buildfiles are."""
    out = directory / workload
    out.mkdir(parents=True, exist_ok=True)
    names = tags(workload, targets)
    # JSON strings are valid HCL strings for these values (no ``${`` or ``%{`` in them).
    text = f'group "default" {{\n  targets = {json.dumps(list(targets))}\n}}\n'
    for target, name in zip(targets, names, strict=True):
        text += (
            f'\ntarget "{target}" {{\n'
            f"  context    = {json.dumps(str(context))}\n"
            f"  dockerfile = {json.dumps(str(buildfile))}\n"
            f"  target     = {json.dumps(target)}\n"
            f"  tags       = {json.dumps([name])}\n"
            "}\n"
        )
    path = out / "docker-bake.hcl"
    path.write_text(text)
    return path
