"""Time ``pybuild outline`` on a generated 300-line Buildfile against ``python -c pass``.

Each run is a fresh process (what a user or CI pays), so interpreter start-up, imports and building the
lark parser are all counted. Prints the median of N runs of each and their ratio::

    python3 bench/outline_bench.py [--runs N] [--lines 300]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(lines: int) -> str:
    """A realistic multi-stage Buildfile of about ``lines`` lines: ARGs, ENV, RUN with continuations, COPY."""
    out = ["# syntax=docker/dockerfile:1", "ARG BASE=alpine:3.19", "ARG VERSION=1.0.0"]
    stage = 0
    while len(out) + 12 + 4 <= lines:
        out += [
            "",
            f"FROM $BASE AS stage{stage}",
            "ARG VERSION",
            f"ENV APP_HOME=/srv/app{stage} VERSION=$VERSION",
            "WORKDIR $APP_HOME",
            f"COPY --chown=1000:1000 src/part{stage}/ ./part{stage}/",
            "RUN --mount=type=cache,target=/var/cache/apk \\",
            "    apk add --no-cache curl git \\",
            "    && echo building $VERSION",
            f"LABEL stage=stage{stage} version=${{VERSION}}",
            "EXPOSE 80 443/tcp",
        ]
        if stage:
            out.append(f"COPY --from=stage{stage - 1} /srv /srv")
        stage += 1
    out += ["", "FROM $BASE", f"COPY --from=stage{stage - 1} /srv /srv", 'CMD ["/srv/app"]']
    return "\n".join(out) + "\n"


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--lines", type=int, default=300, help="length of the generated Buildfile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        buildfile = Path(tmp) / "Buildfile"
        buildfile.write_text(generate(args.lines))
        outline = [sys.executable, "-m", "builder", "outline", "-f", str(buildfile), tmp]
        subprocess.run(outline, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)  # warm the OS caches
        baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
        measured = median_seconds(outline, args.runs)
    lines = len(generate(args.lines).splitlines())
    print(f"python -c pass           : {baseline * 1000:8.1f} ms (median of {args.runs})")
    print(f"pybuild outline ({lines} lines): {measured * 1000:8.1f} ms (median of {args.runs})")
    print(f"ratio                    : {measured / baseline:8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
