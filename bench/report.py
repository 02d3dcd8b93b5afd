"""The markdown table of a benchmark run: per tool the median and spread, the ratios pybuild/BuildKit and
pybuild/buildah, the issue's target, and pybuild's peak RSS."""

from __future__ import annotations

import statistics

from bench.measure import FLOOR, NOT_APPLICABLE, Measured

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


def _ok(runs: list[Measured] | str | None) -> list[float]:
    if runs == NOT_APPLICABLE:
        return []
    return [m.seconds for m in runs or [] if m.returncode == 0]


def _median(runs: list[Measured] | str | None) -> float | None:
    """Median seconds of the successful runs; None when there are none (missing tool or all failed)."""
    ok = _ok(runs)
    return statistics.median(ok) if ok else None


def _cell(runs: list[Measured] | str | None, missing: str) -> str:
    """``median (min–max)`` of the successful runs, and how many failed; "n/a" for a tool that cannot build
    the workload."""
    if runs is None:
        return missing
    if runs == NOT_APPLICABLE:
        return NOT_APPLICABLE
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


def _ratio_cell(ratio: float | None, theirs: list[Measured] | str | None) -> str:
    if theirs == NOT_APPLICABLE:
        return NOT_APPLICABLE
    return f"{ratio:.2f}" if ratio is not None else "—"


def table(results: dict[str, dict[str, list[Measured] | str]], rounds: int) -> str:
    """Rows in the order of ``results`` ({workload: {tool: runs}}); a tool that ran nowhere (BuildKit that
    could not start, buildah left out) has no columns; one missing from a single row shows "—" there, one
    that cannot build the workload (``NOT_APPLICABLE``) "n/a" in its time and its ratio."""
    present = {tool for row in results.values() for tool in row}
    peers = [
        (tool, title)
        for tool, title in (("buildkit", "BuildKit"), ("buildah", "buildah"))
        if tool in present or (tool == "buildah" and "skopeo" in present)
    ]
    header = ["workload", "pybuild s", *(f"{title} s" for _, title in peers)]
    header += [f"pybuild/{title}" for _, title in peers]
    header += ["target", "met", "pybuild peak RSS MB (tree / own)"]
    lines = [
        f"Median of {rounds} rounds, seconds, with the spread (fastest–slowest) of the successful rounds."
        " BuildKit: Docker 26.1's BuildKit v0.13 (`docker buildx build`, `bake` for bake-shared);"
        " buildah: `bud --layers`, runc,"
        " overlay (skopeo for push/pull). Target: the largest ratio pybuild/BuildKit (push/pull: /skopeo)."
        " RSS: peak sum over pybuild's process tree, all of it / without the RUN steps' own processes.",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (1 + 2 * len(peers)) + "---:|:-:|---:|",
    ]
    for name, row in results.items():
        mine = row.get("pybuild")
        ours = _median(mine)
        # push/pull compare with skopeo, shown in buildah's columns
        columns = {tool: ("skopeo" if tool == "buildah" and "skopeo" in row else tool) for tool, _ in peers}
        ratios = {tool: _ratio(ours, _median(row.get(column))) for tool, column in columns.items()}
        ratios["skopeo"] = _ratio(ours, _median(row.get("skopeo")))
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
            *(_cell(row.get(column), "—") for column in columns.values()),
            *(_ratio_cell(ratios[tool], row.get(column)) for tool, column in columns.items()),
            f"≤ {target[1]:g}" + (" (skopeo)" if target[0] == "skopeo" else "") if target else "—",
            met,
            rss,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for name, row in results.items():
        floor = _median(row.get(FLOOR))
        if floor is not None:
            versus = _median(row.get("buildkit"))
            share = f", {floor / versus:.2f} of BuildKit's" if versus else ""
            lines.append(
                f"{name}'s own work run by a shell with no builder (the floor of any builder's time here):"
                f" {_cell(row[FLOOR], '—')} s{share}."
            )
    lines.append(
        f"Targets: issues 16 and 17 (pybuild/BuildKit), issue 7 (push/pull against skopeo); peak RSS ≤"
        f" {RSS_TARGET_MB} MB on every workload."
    )
    return "\n".join(lines)
