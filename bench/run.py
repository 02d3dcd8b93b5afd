"""pybuild beside BuildKit v0.13 and buildah: the benchmark's workloads, as one command.

Usage::

    python3 bench/run.py [--rounds N] [--workloads W,...] [--quick] [--no-buildkit] [--no-buildah]
                         [--reference-script PATH] [--snapshot REV] [--bench-dir DIR] [--remove-inputs]

Needs root, runc, buildah, skopeo, docker-registry and debootstrap (Debian packages), and the network to a
Debian mirror (``$BENCH_DEBIAN_MIRROR``, default deb.debian.org) for the Debian base, apt-cold and
python-app. BuildKit is Docker 26.1's, started by ``../shared/tools/reference-buildkit.sh`` beside the
repository (``--reference-script`` or ``$PYBUILD_BENCH_REFERENCE`` name another); when it cannot start, one
line says why and its column stays empty. Inputs are made once under ``$BENCH_DIR`` (default
/var/tmp/pybuild-bench); each tool's storage lives there too (BuildKit's in its daemon) and is reset per
workload group and removed at the end. ``--workloads`` (or ``--only``, repeatable) takes workload names
(small-cold, parallel-cold, bake-shared, two-platform, push, ...) or group names (small, bigctx, parallel,
bake, biglayer, busy, apt, python-app, pushpull); push/pull needs the biglayer image and so runs
biglayer-cold too. ``--quick`` is one round per tool, of parallel-cold and two-platform unless workloads are
named: a check that the bench runs.
``--snapshot REV`` measures pybuild as committed at REV (exported with ``git archive``).

pybuild and BuildKit take turns within each round (pybuild, BuildKit, pybuild, BuildKit, ...); buildah runs
after them, in rounds of its own, over the same workloads (a build right after buildah's inherits a file
system slowed by buildah's deletions). Prints a markdown table (bench/report.py). Raw results go to
``$BENCH_DIR/results/<time>.json`` and the table to ``<time>.md``; build output to
``$BENCH_DIR/logs/<time>.log``.
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

from bench import reference  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.report import table  # noqa: E402
from bench.tools import REPO, Buildah, BuildKit, Pybuild  # noqa: E402
from bench.workloads import GROUPS, run_group  # noqa: E402

PUSH_PULL = {"push", "pull", "pushpull"}
QUICK = {"parallel-cold", "two-platform"}
# Made by a run and removed at its end (inputs/ is kept for the next run unless --remove-inputs).
SCRATCH = ("tools", "scratch", "registry", "pull-store", "pull-containers-storage", "push-source")
INPUTS = ("inputs", "buildfiles", "source")


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


def _names(values: list[str] | None) -> set[str] | None:
    """Workload names from repeated and comma-separated options; None when none were given."""
    if not values:
        return None
    return {name.strip() for value in values for name in value.split(",") if name.strip()}


def _run_pass(tools: list, bench: Path, rounds: int, only: set[str] | None, log: Path, push_pull) -> dict:
    """Every selected workload of every group with ``tools`` taking turns; ``push_pull`` (or None) runs
    right after the biglayer group, while pybuild's store holds its image."""
    results: dict[str, dict] = {}
    for group in GROUPS:
        results.update(run_group(group, tools, bench, rounds, only, log))
        if push_pull is not None and group.name == "biglayer":
            results.update(push_pull())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed builds per tool and workload (default 3)")
    parser.add_argument(
        "--workloads", "--only", action="append", metavar="W[,W...]", help="run only these (repeatable)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one round; parallel-cold, two-platform unless named",
    )
    parser.add_argument("--no-buildkit", action="store_true", help="skip the BuildKit column")
    parser.add_argument("--no-buildah", action="store_true", help="skip the buildah column")
    parser.add_argument(
        "--reference-script",
        type=Path,
        metavar="PATH",
        help="reference-buildkit.sh (default: $PYBUILD_BENCH_REFERENCE, else <repo>/../shared/tools/)",
    )
    default_dir = Path(os.environ.get("BENCH_DIR", "/var/tmp/pybuild-bench"))
    parser.add_argument("--bench-dir", type=Path, default=default_dir, help="inputs, stores, results")
    parser.add_argument(
        "--snapshot",
        metavar="REV",
        help="measure pybuild as committed at REV (git archive into the bench dir), not the working tree",
    )
    parser.add_argument(
        "--remove-inputs", action="store_true", help="also remove the generated inputs at the end (not reused)"
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("needs root (runc, overlayfs, buildah's storage)")
    only = _names(args.workloads)
    rounds = 1 if args.quick else args.rounds
    if args.quick and only is None:
        only = set(QUICK)
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
    pybuild = Pybuild(bench / "tools" / "pybuild", log, source)
    buildah = Buildah(bench / "tools" / "buildah", log)
    buildkit = None
    if not args.no_buildkit:
        started = reference.start(REPO, args.reference_script, dict(os.environ))
        if isinstance(started, str):
            print(f"BuildKit: not measured, the reference daemon cannot start: {started}", flush=True)
        else:
            buildkit = BuildKit(started, bench / "tools" / "buildkit", log)
    machine = describe(bench)
    if buildkit is not None:
        machine += f" BuildKit: {buildkit.version} (reference daemon)."
    print(machine, flush=True)
    print(f"pybuild from {source}; build output: {log}", flush=True)

    def push_pull() -> dict:
        from bench.registry import run_push_pull

        return run_push_pull(pybuild, buildah, bench, rounds, log)

    wants_push_pull = only is None or bool(only & PUSH_PULL)
    results: dict[str, dict] = {}
    try:
        first = [pybuild] + ([buildkit] if buildkit is not None else [])
        results = _run_pass(first, bench, rounds, only, log, push_pull if wants_push_pull else None)
        if not args.no_buildah:
            pybuild.reset()  # its store is not needed again: free the disk before buildah's pass
            print("buildah, in rounds of its own:", flush=True)
            for name, row in _run_pass([buildah], bench, rounds, only, log, None).items():
                results.setdefault(name, {}).update(row)
    finally:
        for tool in (pybuild, buildah, buildkit):
            if tool is not None:
                tool.reset()
        for sub in SCRATCH + (INPUTS if args.remove_inputs else ()):
            shutil.rmtree(bench / sub, ignore_errors=True)

    command = "python3 bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = f"{machine}\n\nCommand: `{command.strip()}`\n\n{table(results, rounds)}"
    print("\n" + text)
    (bench / "results" / f"{stamp}.md").write_text(text + "\n")
    raw = {
        name: {tool: ms if isinstance(ms, str) else [asdict(m) for m in ms] for tool, ms in row.items()}
        for name, row in results.items()
    }
    (bench / "results" / f"{stamp}.json").write_text(json.dumps({"machine": machine, "results": raw}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
