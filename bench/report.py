"""The markdown table of a benchmark run: medians, ratio against the peer, target, pybuild's peak RSS."""

from __future__ import annotations

import statistics

from bench.measure import Measured

TARGETS = {
    "small-cold": 0.3,
    "small-warm": 0.15,
    "bigctx-cold": 0.3,
    "bigctx-warm": 0.05,
    "bigctx-touch": 0.3,
    "biglayer-cold": 0.45,
    "apt-cold": 0.75,
    "push": 1.0,
    "pull": 1.0,
}
RSS_TARGET_MB = 150


def _median(runs: list[Measured] | None) -> float | None:
    """Median seconds of the successful runs; None when there are none (missing tool or all failed)."""
    ok = [m.seconds for m in runs or [] if m.returncode == 0]
    return statistics.median(ok) if ok else None


def _cell(runs: list[Measured] | None, missing: str) -> str:
    if runs is None:
        return missing
    failed = sum(m.returncode != 0 for m in runs)
    median = _median(runs)
    text = "failed" if median is None else f"{median:.2f}"
    return text + (f" ({failed} failed)" if failed and median is not None else "")


def table(results: dict[str, dict[str, list[Measured]]], rounds: int) -> str:
    """Rows in the order of ``results``; the peer is buildah for builds and skopeo for push/pull."""
    lines = [
        f"Median of {rounds} rounds, seconds. Peer: buildah (`bud --layers`, runc, overlay);"
        " skopeo for push/pull. RSS: peak sum over pybuild's process tree,"
        " all of it / without the RUN steps' own processes.",
        "",
        "| workload | pybuild s | peer s | ratio | target | met | BuildKit s "
        "| pybuild peak RSS MB (tree / own) |",
        "|---|---:|---:|---:|---:|:-:|---:|---:|",
    ]
    for name, row in results.items():
        mine = row.get("pybuild")
        peer_runs = row.get("skopeo", row.get("buildah"))
        ours, peer = _median(mine), _median(peer_runs)
        target = TARGETS.get(name)
        ratio = f"{ours / peer:.2f}" if ours is not None and peer else "—"
        met = "—" if ours is None or not peer or target is None else ("yes" if ours / peer <= target else "no")
        ok = [m for m in mine or [] if m.returncode == 0]
        rss = (
            f"{max(m.rss_tree for m in ok) / 2**20:.0f} / {max(m.rss_own for m in ok) / 2**20:.0f}"
            if ok
            else "—"
        )
        lines.append(
            f"| {name} | {_cell(mine, 'not yet')} | {_cell(peer_runs, '—')} | {ratio} | "
            f"≤ {target:g} | {met} | {_cell(row.get('buildkit'), '—')} | {rss} |"
        )
    lines.append("")
    lines.append(f"Targets: ratio pybuild/peer from issue 7; peak RSS ≤ {RSS_TARGET_MB} MB on every workload.")
    return "\n".join(lines)
