"""The build workloads of issue 7, in groups that share a base image and fresh per-group storage.

A group resets every tool's storage, adds its base image (setup, not timed), then runs its workloads in
order. Within a workload the tools take turns in every round (pybuild, buildah, BuildKit, pybuild, ...), so
slow drifts of the machine touch them alike. ``prime`` builds once, untimed, before the rounds (the warm
workloads); ``before_round`` changes the input before each round (the touch workload).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import inputs
from bench.measure import Measured, measure


@dataclass(frozen=True)
class Workload:
    """One row of the table: a Buildfile over a context, built ``rounds`` times by each tool."""

    name: str
    buildfile: str
    context: Callable[[Path], Path]
    no_cache: bool
    target: float
    prime: bool = False
    before_round: Callable[[Path, int], None] | None = None


@dataclass(frozen=True)
class Group:
    """Workloads that share a base image, in the order they run."""

    name: str
    base_image: str
    base_rootfs: Callable[[Path, Path], Path]
    workloads: list[Workload] = field(default_factory=list)


def _busybox(bench: Path, log: Path) -> Path:
    return inputs.busybox_rootfs(bench / "inputs" / "busybox-rootfs")


def _debian(bench: Path, log: Path) -> Path:
    return inputs.debian_rootfs(bench / "inputs" / "debian-rootfs", log)


def _small(bench: Path) -> Path:
    return inputs.small_context(bench / "inputs" / "small-context")


def _bigctx(bench: Path) -> Path:
    return inputs.big_context(bench / "inputs" / "big-context")


def _empty(bench: Path) -> Path:
    return inputs.empty_context(bench / "inputs" / "empty-context")


GROUPS = [
    Group(
        "small",
        inputs.BUSYBOX_IMAGE,
        _busybox,
        [
            Workload("small-cold", inputs.SMALL_BUILDFILE, _small, no_cache=True, target=0.3),
            Workload("small-warm", inputs.SMALL_BUILDFILE, _small, no_cache=False, target=0.15, prime=True),
        ],
    ),
    Group(
        "bigctx",
        inputs.BUSYBOX_IMAGE,
        _busybox,
        [
            Workload("bigctx-cold", inputs.BIGCTX_BUILDFILE, _bigctx, no_cache=True, target=0.3),
            Workload("bigctx-warm", inputs.BIGCTX_BUILDFILE, _bigctx, no_cache=False, target=0.05, prime=True),
            Workload(
                "bigctx-touch",
                inputs.BIGCTX_BUILDFILE,
                _bigctx,
                no_cache=False,
                target=0.3,
                prime=True,
                before_round=inputs.touch_one,
            ),
        ],
    ),
    Group(
        "biglayer",
        inputs.DEBIAN_IMAGE,
        _debian,
        [Workload("biglayer-cold", inputs.BIGLAYER_BUILDFILE, _empty, no_cache=True, target=0.45)],
    ),
    Group(
        "apt",
        inputs.DEBIAN_IMAGE,
        _debian,
        [Workload("apt-cold", inputs.APT_BUILDFILE, _empty, no_cache=True, target=0.75)],
    ),
]


def run_group(group: Group, tools: list, bench: Path, rounds: int, only: set[str] | None, log: Path) -> dict:
    """Run the selected workloads of ``group``; returns {workload: {tool: [Measured, ...]}}.

    A failed build is recorded with its exit status (the table shows it) and does not stop the others."""
    selected = [w for w in group.workloads if only is None or w.name in only or group.name in only]
    if not selected:
        return {}
    rootfs = group.base_rootfs(bench, log)
    for tool in tools:
        tool.reset()
        tool.add_base(group.base_image, rootfs)
    files = bench / "buildfiles"
    results: dict[str, dict[str, list[Measured]]] = {}
    for workload in selected:
        buildfile = inputs.buildfile(files, workload.name, workload.buildfile)
        context = workload.context(bench)
        tag = f"bench-{workload.name}:1"
        touched = context / inputs.TOUCHED_FILE
        original = touched.read_bytes() if workload.before_round and touched.exists() else None
        per_tool: dict[str, list[Measured]] = {tool.name: [] for tool in tools}
        try:
            if workload.prime:
                for tool in tools:
                    measure(tool.build_cmd(buildfile, context, tag, False), log, env=tool.env, cwd=tool.cwd)
            for round_no in range(rounds):
                if workload.before_round:
                    workload.before_round(context, round_no)
                for tool in tools:
                    cmd = tool.build_cmd(buildfile, context, tag, workload.no_cache)
                    result = measure(cmd, log, env=tool.env, cwd=tool.cwd)
                    per_tool[tool.name].append(result)
                    print(
                        f"  {workload.name:14} round {round_no + 1}/{rounds} {tool.name:9} "
                        f"{result.seconds:8.2f}s rss {result.rss_tree / 2**20:7.1f} MB"
                        + ("" if result.returncode == 0 else f"  FAILED (exit {result.returncode}, see {log})"),
                        flush=True,
                    )
        finally:
            if original is not None:
                touched.write_bytes(original)
        results[workload.name] = per_tool
    return results
