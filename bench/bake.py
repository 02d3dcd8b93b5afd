"""The bake workload's inputs: a Buildfile whose ``base`` stage three targets share, and the bake file
(``docker-bake.hcl``, with a ``compose.yaml`` that only gives each target the host's network) that names
them, read alike by ``pybuild bake`` and ``docker buildx bake``.

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


def bake_files(
    directory: Path, workload: str, buildfile: Path, context: Path, targets: tuple[str, ...]
) -> list[Path]:
    """Write the bake's files under ``directory/WORKLOAD/`` and return them in the order ``-f`` takes them:

    - ``compose.yaml``: one service per target with only ``build.network: host``. buildx 0.13's HCL has no
      ``network`` key (it ignores one, and ``--set *.network=`` is refused) while its compose reader has; the
      reference daemon has no bridge network ("network bridge not found"), and every other bench build runs
      its RUN steps on the host's network, as pybuild does by default.
    - ``docker-bake.hcl``: a group ``default`` of ``targets``, each building the stage of its name from
      ``buildfile`` over ``context`` (both absolute: bake resolves a relative context against the working
      directory, which differs between the tools), tagged as `tags` says. Read after the compose file, its
      values win where both name one (as buildx merges files).

    Rewritten each run, as the Buildfiles are."""
    out = directory / workload
    out.mkdir(parents=True, exist_ok=True)
    compose = out / "compose.yaml"
    compose.write_text("services:\n" + "".join(f"  {t}:\n    build:\n      network: host\n" for t in targets))
    # JSON strings are valid HCL strings for these values (no ``${`` or ``%{`` in them).
    text = f'group "default" {{\n  targets = {json.dumps(list(targets))}\n}}\n'
    for target, name in zip(targets, tags(workload, targets), strict=True):
        text += (
            f'\ntarget "{target}" {{\n'
            f"  context    = {json.dumps(str(context))}\n"
            f"  dockerfile = {json.dumps(str(buildfile))}\n"
            f"  target     = {json.dumps(target)}\n"
            f"  tags       = {json.dumps([name])}\n"
            "}\n"
        )
    hcl = out / "docker-bake.hcl"
    hcl.write_text(text)
    return [compose, hcl]
