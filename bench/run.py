"""pybuild beside buildah (and BuildKit where it runs): the workloads of issue 7, as one command.

Usage::

    python3 bench/run.py [--rounds N] [--only WORKLOAD]... [--no-buildkit] [--bench-dir DIR]

Needs root, runc, buildah, skopeo, docker-registry and debootstrap (Debian packages), and the network to a
Debian mirror (``$BENCH_DEBIAN_MIRROR``, default deb.debian.org) for the Debian base and apt-cold. Inputs
are made once under ``$BENCH_DIR`` (default /var/tmp/pybuild-bench); each tool's storage lives there too and
is reset per workload group, so nothing global is touched. ``--only`` takes workload names (small-cold,
bigctx-touch, push, ...) or group names (small, bigctx, biglayer, apt, pushpull); push/pull needs the
biglayer image and so runs the biglayer group too. ``--snapshot REV`` measures pybuild as committed at REV
(exported with ``git archive``), for a stable subject while the working tree is being edited.

Prints a markdown table: the median wall-clock seconds of each tool, the ratio pybuild/peer (peer =
buildah; skopeo for push/pull), the issue's target, and pybuild's peak RSS (see bench/measure.py for the
method). Raw results go to ``$BENCH_DIR/results/<time>.json`` and the table to ``<time>.md``; build output
to ``$BENCH_DIR/logs/<time>.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe  # noqa: E402
from bench.report import table  # noqa: E402
from bench.tools import REPO, Buildah, BuildKit, Pybuild  # noqa: E402
from bench.workloads import GROUPS, run_group  # noqa: E402

PUSH_PULL = {"push", "pull", "pushpull"}


def snapshot(rev: str, dest: Path) -> Path:
    """Export the tree of commit ``rev`` to ``dest`` (replacing it) and return it: a fixed pybuild to measure
    while the working tree changes. Read-only on the repository."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    archive = subprocess.Popen(["git", "-C", str(REPO), "archive", rev], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0:
        raise SystemExit(f"git archive {rev} failed")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed builds per tool and workload (default 3)")
    parser.add_argument("--only", action="append", metavar="WORKLOAD", help="run only these (repeatable)")
    parser.add_argument("--no-buildkit", action="store_true", help="skip the BuildKit column")
    default_dir = Path(os.environ.get("BENCH_DIR", "/var/tmp/pybuild-bench"))
    parser.add_argument("--bench-dir", type=Path, default=default_dir, help="inputs, stores, results")
    parser.add_argument(
        "--snapshot",
        metavar="REV",
        help="measure pybuild as committed at REV (git archive into the bench dir), not the working tree",
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("needs root (runc, overlayfs, buildah's storage)")
    only = set(args.only) if args.only else None
    known = {g.name for g in GROUPS} | {w.name for g in GROUPS for w in g.workloads} | PUSH_PULL
    if only and only - known:
        parser.error(f"unknown workload {', '.join(sorted(only - known))}; known: {', '.join(sorted(known))}")
    if only and only & PUSH_PULL:
        only.add("biglayer-cold")

    bench = args.bench_dir.resolve()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for sub in ("logs", "results", "inputs", "tools"):
        (bench / sub).mkdir(parents=True, exist_ok=True)
    log = bench / "logs" / f"{stamp}.log"
    source = snapshot(args.snapshot, bench / "source") if args.snapshot else REPO
    tools = [Pybuild(bench / "tools" / "pybuild", log, source), Buildah(bench / "tools" / "buildah", log)]
    buildkit = None if args.no_buildkit else BuildKit.start(log)
    if buildkit is not None:
        tools.append(buildkit)
    machine = describe(bench)
    print(machine, flush=True)
    print(f"pybuild from {source}; build output: {log}", flush=True)

    results: dict[str, dict] = {}
    try:
        for group in GROUPS:
            results.update(run_group(group, tools, bench, args.rounds, only, log))
            # Right after the biglayer group: the next group resets the stores that hold its image.
            if group.name == "biglayer" and (only is None or only & PUSH_PULL):
                from bench.registry import run_push_pull

                results.update(run_push_pull(tools[0], tools[1], bench, args.rounds, log))
    finally:
        for tool in tools:
            tool.reset()

    command = "python3 bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = f"{machine}\n\nCommand: `{command.strip()}`\n\n{table(results, args.rounds)}"
    print("\n" + text)
    (bench / "results" / f"{stamp}.md").write_text(text + "\n")
    raw = {name: {tool: [asdict(m) for m in ms] for tool, ms in row.items()} for name, row in results.items()}
    (bench / "results" / f"{stamp}.json").write_text(json.dumps({"machine": machine, "results": raw}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
