"""The build workloads, in groups that share base images and fresh per-group storage.

A group resets every tool's storage, adds its base images (setup, not timed), then runs its workloads in
order. Within a workload the tools given take turns in every round (pybuild, BuildKit, pybuild, BuildKit,
...), so slow drifts of the machine touch them alike; ``bench/run.py`` runs buildah in a pass of its own
after them, because a build that follows buildah's deletion of a 20,000-file container inherits a slowed
file system. Before every timed build: ``sync`` (nobody's dirty pages are left for the timed build to flush)
and, for a cold workload, the tool's ``clear_cache`` (last round's image and all build cache removed).
``prime`` builds once, untimed, before the rounds (the warm workloads); ``before_round`` changes the input
before each round (the touch workloads; the ``touched`` file is restored afterwards); ``neighbour`` times the
build while another process writes 1 GB (bench/neighbour.py). A workload with ``bake_targets`` is one bake of
those targets (bench/bake.py) by the tools that have a bake command; for the others its row says
``NOT_APPLICABLE`` instead of runs.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from bench import bake, inputs, multiarch, neighbour, pyapp
from bench.measure import FLOOR, NOT_APPLICABLE, Measured, measure


@dataclass(frozen=True)
class Workload:
    """One row of the table: a Buildfile over a context, built ``rounds`` times by each tool."""

    name: str
    buildfile: str
    context: Callable[[Path], Path]
    no_cache: bool
    prime: bool = False
    before_round: Callable[[Path, int], None] | None = None
    touched: Path = inputs.TOUCHED_FILE
    platforms: tuple[str, ...] = ()
    neighbour: bool = False
    buildah_buildfile: str | None = None  # where buildah needs a variant of the same build (said why there)
    bake_targets: tuple[str, ...] = ()  # a bake of these targets of ``buildfile`` instead of one build
    #: a shell script doing the workload's own work with no builder (its scratch directory as ``$1``), timed
    #: after the tools in each round of the first pass: the floor of any builder's time on this machine
    floor: str | None = None

    def tags(self) -> list[str]:
        """The image names one build of this workload makes (one per target for a bake)."""
        return bake.tags(self.name, self.bake_targets) if self.bake_targets else [f"bench-{self.name}:1"]

    def runs_on(self, tool) -> bool:
        """Whether ``tool`` can build this workload: a bake needs the tool's bake command."""
        return not self.bake_targets or hasattr(tool, "bake_cmd")


@dataclass(frozen=True)
class Base:
    """A base image every tool imports before a group: its name, root filesystem and platform (None: the
    machine's own)."""

    image: str
    rootfs: Path
    platform: str | None = None


@dataclass(frozen=True)
class Group:
    """Workloads that share base images, in the order they run; ``unavailable`` says why the group cannot
    run on this machine (None when it can)."""

    name: str
    bases: Callable[[Path, Path], list[Base]]
    workloads: list[Workload] = field(default_factory=list)
    unavailable: Callable[[], str | None] | None = None


def _busybox(bench: Path, log: Path) -> list[Base]:
    return [Base(inputs.BUSYBOX_IMAGE, inputs.busybox_rootfs(bench / "inputs" / "busybox-rootfs"))]


def _debian(bench: Path, log: Path) -> list[Base]:
    return [Base(inputs.DEBIAN_IMAGE, inputs.debian_rootfs(bench / "inputs" / "debian-rootfs", log))]


def _static(bench: Path, log: Path) -> list[Base]:
    return [
        Base(
            f"{inputs.STATIC_IMAGE}:{arch}",
            multiarch.arch_rootfs(bench / "inputs" / f"busybox-static-{arch}", arch),
            f"linux/{arch}",
        )
        for arch in multiarch.ARCHES
    ]


def _pyapp(bench: Path) -> Path:
    return pyapp.make(bench / "inputs" / "python-app")


def _small(bench: Path) -> Path:
    return inputs.small_context(bench / "inputs" / "small-context")


def _bigctx(bench: Path) -> Path:
    return inputs.big_context(bench / "inputs" / "big-context")


def _empty(bench: Path) -> Path:
    return inputs.empty_context(bench / "inputs" / "empty-context")


GROUPS = [
    Group(
        "small",
        _busybox,
        [
            Workload("small-cold", inputs.SMALL_BUILDFILE, _small, no_cache=True),
            Workload("small-warm", inputs.SMALL_BUILDFILE, _small, no_cache=False, prime=True),
        ],
    ),
    Group(
        "bigctx",
        _busybox,
        [
            Workload("bigctx-cold", inputs.BIGCTX_BUILDFILE, _bigctx, no_cache=True),
            Workload("bigctx-warm", inputs.BIGCTX_BUILDFILE, _bigctx, no_cache=False, prime=True),
            Workload(
                "bigctx-touch",
                inputs.BIGCTX_BUILDFILE,
                _bigctx,
                no_cache=False,
                prime=True,
                before_round=inputs.touch_one,
            ),
        ],
    ),
    Group(
        "parallel",
        _busybox,
        [
            Workload(
                "parallel-cold", inputs.PARALLEL_BUILDFILE, _empty, no_cache=True, floor=inputs.PARALLEL_FLOOR
            )
        ],
    ),
    Group(
        "bake",
        _busybox,
        [Workload("bake-shared", bake.BUILDFILE, _empty, no_cache=True, bake_targets=bake.TARGETS)],
    ),
    Group(
        "two-platform",
        _static,
        [
            Workload(
                "two-platform",
                inputs.TWO_PLATFORM_BUILDFILE,
                _small,
                no_cache=True,
                platforms=multiarch.PLATFORMS,
                buildah_buildfile=inputs.TWO_PLATFORM_BUILDFILE_BUILDAH,
            )
        ],
        unavailable=multiarch.unavailable,
    ),
    Group(
        "biglayer",
        _debian,
        [Workload("biglayer-cold", inputs.BIGLAYER_BUILDFILE, _empty, no_cache=True)],
    ),
    # A group of its own: push/pull, right after the biglayer group, find its image untouched.
    Group(
        "busy",
        _debian,
        [Workload("busy-neighbour", inputs.BIGLAYER_BUILDFILE, _empty, no_cache=True, neighbour=True)],
    ),
    Group(
        "apt",
        _debian,
        [Workload("apt-cold", inputs.APT_BUILDFILE, _empty, no_cache=True)],
    ),
    Group(
        "python-app",
        _debian,
        [
            Workload(
                "python-app-warm",
                inputs.PYAPP_BUILDFILE,
                _pyapp,
                no_cache=False,
                prime=True,
                before_round=pyapp.touch_source,
                touched=pyapp.TOUCHED,
            )
        ],
    ),
]


def selected(group: Group, only: set[str] | None) -> list[Workload]:
    """The workloads of ``group`` that ``only`` names (by workload or group name); all when it is None."""
    return [w for w in group.workloads if only is None or w.name in only or group.name in only]


def _command(tool, workload: Workload, buildfile: Path, context: Path, files: Path, no_cache: bool) -> list:
    """The command that builds ``workload`` once with ``tool``: its bake of the workload's bake files (written
    under ``files``), else its build of ``buildfile``."""
    if workload.bake_targets:
        bakefiles = bake.bake_files(files, workload.name, buildfile, context, workload.bake_targets)
        return tool.bake_cmd(bakefiles, workload.tags(), no_cache)
    return tool.build_cmd(buildfile, context, workload.tags()[0], no_cache, workload.platforms)


def _floor(script: str, bench: Path, log: Path) -> Measured:
    """One timed run of a workload's ``floor`` script, after a ``sync`` as every timed build."""
    scratch = bench / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    os.sync()
    return measure(["sh", "-c", script, "floor", str(scratch)], log)


def _report(workload: Workload, round_no: int, rounds: int, tool: str, result: Measured, log: Path) -> None:
    print(
        f"  {workload.name:15} round {round_no + 1}/{rounds} {tool:9} "
        f"{result.seconds:8.2f}s rss {result.rss_tree / 2**20:7.1f} MB"
        + ("" if result.returncode == 0 else f"  FAILED (exit {result.returncode}, see {log})"),
        flush=True,
    )


def run_group(group: Group, tools: list, bench: Path, rounds: int, only: set[str] | None, log: Path) -> dict:
    """Run the selected workloads of ``group`` with ``tools`` taking turns; returns {workload: {tool: [Measured,
    ...]}}, with ``NOT_APPLICABLE`` for a tool that cannot build the workload (a bake, for a tool without a bake
    command). A failed build is recorded with its exit status (the table shows it) and does not stop the others.
    """
    chosen = selected(group, only)
    if not chosen or not tools:
        return {}
    results: dict[str, dict[str, list[Measured] | str]] = {}
    for workload in chosen:
        for tool in tools:
            if not workload.runs_on(tool):
                results.setdefault(workload.name, {})[tool.name] = NOT_APPLICABLE
                print(f"  {workload.name:15} {tool.name:9} n/a (it has no bake command)", flush=True)
    chosen = [w for w in chosen if any(w.runs_on(tool) for tool in tools)]
    if not chosen:
        return results  # nothing to build: no storage to set up either
    tools = [tool for tool in tools if any(w.runs_on(tool) for w in chosen)]
    reason = group.unavailable() if group.unavailable else None
    if reason:
        print(f"  {group.name}: skipped, {reason}", flush=True)
        return {}
    try:
        bases = group.bases(bench, log)
        for tool in tools:
            tool.reset()
            for base in bases:
                tool.add_base(base.image, base.rootfs, base.platform)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        print(f"  {group.name}: skipped, its setup failed: {first} (see {log})", flush=True)
        return {}
    files = bench / "buildfiles"
    for workload in chosen:
        buildfiles = {tool.name: inputs.buildfile(files, workload.name, workload.buildfile) for tool in tools}
        if workload.buildah_buildfile and "buildah" in buildfiles:
            variant = f"{workload.name}.buildah"
            buildfiles["buildah"] = inputs.buildfile(files, variant, workload.buildah_buildfile)
        context = workload.context(bench)
        tags = workload.tags()
        able = [tool for tool in tools if workload.runs_on(tool)]
        touched = context / workload.touched
        original = touched.read_bytes() if workload.before_round and touched.exists() else None
        per_tool: dict[str, list[Measured] | str] = {tool.name: [] for tool in able}
        platforms = workload.platforms
        try:
            if workload.prime:
                for tool in able:
                    cmd = _command(tool, workload, buildfiles[tool.name], context, files, False)
                    primed = measure(cmd, log, env=tool.env, cwd=tool.cwd)
                    if primed.returncode != 0:
                        print(f"  {workload.name:15} priming {tool.name} FAILED (see {log})", flush=True)
            for round_no in range(rounds):
                if workload.before_round:
                    workload.before_round(context, round_no)
                for tool in able:
                    if workload.no_cache:
                        tool.clear_cache(tags, platforms)
                    cmd = _command(tool, workload, buildfiles[tool.name], context, files, workload.no_cache)
                    os.sync()
                    busy = neighbour.writing(bench / "scratch") if workload.neighbour else nullcontext()
                    with busy:
                        result = measure(cmd, log, env=tool.env, cwd=tool.cwd)
                    per_tool[tool.name].append(result)
                    _report(workload, round_no, rounds, tool.name, result, log)
                if workload.floor and any(tool.name == "pybuild" for tool in able):
                    result = _floor(workload.floor, bench, log)
                    per_tool.setdefault(FLOOR, []).append(result)  # type: ignore[union-attr]
                    _report(workload, round_no, rounds, FLOOR, result, log)
        finally:
            if original is not None:
                touched.write_bytes(original)
        results.setdefault(workload.name, {}).update(per_tool)
    return results
