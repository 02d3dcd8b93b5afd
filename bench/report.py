"""The markdown table of a benchmark run: per tool the median and spread, the ratios pybuild/BuildKit and
pybuild/buildah, the issue's target, and pybuild's peak RSS."""

from __future__ import annotations

import statistics

from bench.measure import Measured

# workload: (the tool the target compares with, the largest ratio pybuild/that tool). Builds: BuildKit v0.13
# (issues 16 and 17); push/pull: skopeo (issue 7).
TARGETS = {
    "small-cold": ("buildkit", 0.5),
    "small-warm": ("buildkit", 0.5),
    "bigctx-cold": ("buildkit", 0.5),
    "bigctx-warm": ("buildkit", 0.3),
    "bigctx-touch": ("buildkit", 0.5),
    "parallel-cold": ("buildkit", 0.8),
    "two-platform": ("buildkit", 1.0),
    "biglayer-cold": ("buildkit", 0.6),
    "busy-neighbour": ("buildkit", 0.6),
    "apt-cold": ("buildkit", 0.95),
    "push": ("skopeo", 1.0),
    "pull": ("skopeo", 1.0),
}
RSS_TARGET_MB = 150


def _ok(runs: list[Measured] | None) -> list[float]:
    return [m.seconds for m in runs or [] if m.returncode == 0]


def _median(runs: list[Measured] | None) -> float | None:
    """Median seconds of the successful runs; None when there are none (missing tool or all failed)."""
    ok = _ok(runs)
    return statistics.median(ok) if ok else None


def _cell(runs: list[Measured] | None, missing: str) -> str:
    """``median (min–max)`` of the successful runs, and how many failed."""
    if runs is None:
        return missing
    failed = sum(m.returncode != 0 for m in runs)
    ok = _ok(runs)
    if not ok:
        return "failed"
    text = f"{statistics.median(ok):.2f}"
    if len(ok) > 1:
        text += f" ({min(ok):.2f}–{max(ok):.2f})"
    return text + (f" ({failed} failed)" if failed else "")


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours is not None and theirs else None


def table(results: dict[str, dict[str, list[Measured]]], rounds: int) -> str:
    """Rows in the order of ``results`` ({workload: {tool: runs}}); a tool that did not run shows "—"."""
    lines = [
        f"Median of {rounds} rounds, seconds, with the spread (fastest–slowest) of the successful rounds."
        " BuildKit: Docker 26.1's BuildKit v0.13 (`docker buildx build`); buildah: `bud --layers`, runc,"
        " overlay (skopeo for push/pull). Target: the largest ratio pybuild/BuildKit (push/pull: /skopeo)."
        " RSS: peak sum over pybuild's process tree, all of it / without the RUN steps' own processes.",
        "",
        "| workload | pybuild s | BuildKit s | buildah s | pybuild/BuildKit | pybuild/buildah | target | met "
        "| pybuild peak RSS MB (tree / own) |",
        "|---|---:|---:|---:|---:|---:|---:|:-:|---:|",
    ]
    for name, row in results.items():
        mine = row.get("pybuild")
        peer_name = "skopeo" if "skopeo" in row else "buildah"
        ours = _median(mine)
        ratios = {tool: _ratio(ours, _median(row.get(tool))) for tool in ("buildkit", peer_name)}
        target = TARGETS.get(name)
        reached = ratios.get(target[0]) if target else None
        met = "—" if reached is None or target is None else ("yes" if reached <= target[1] else "no")
        ok = [m for m in mine or [] if m.returncode == 0]
        rss = (
            f"{max(m.rss_tree for m in ok) / 2**20:.0f} / {max(m.rss_own for m in ok) / 2**20:.0f}"
            if ok
            else "—"
        )
        cells = [
            name,
            _cell(mine, "not yet"),
            _cell(row.get("buildkit"), "—"),
            _cell(row.get(peer_name), "—"),
            *(f"{r:.2f}" if r is not None else "—" for r in ratios.values()),
            f"≤ {target[1]:g}" + (" (skopeo)" if target[0] == "skopeo" else "") if target else "—",
            met,
            rss,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Targets: issues 16 and 17 (pybuild/BuildKit), issue 7 (push/pull against skopeo); peak RSS ≤"
        f" {RSS_TARGET_MB} MB on every workload."
    )
    return "\n".join(lines)
