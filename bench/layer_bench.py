"""Layer diff + compress (+ store) of a 20,000-file, ~300 MB tree, beside `tar -c | gzip` and `tar -c | zstd`;
and applying the layer, beside `gzip -dc | tar -x` and `zstd -dc | tar -x`.

Usage: python3 bench/layer_bench.py [--files 20000] [--mb 300] [--repeat 1]

The tree (half of its bytes incompressible, half text-like) is generated once under $BENCH_DIR (default
/tmp/pybuild-bench) and reused by later runs. Each case runs in its own processes, with the tree already in
the page cache; time is wall-clock, peak RSS is the sum of the maxima of the processes involved (both ends
of a pipeline), read from wait4(). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = [
    "".join(random.Random(i).choices("abcdefghijklmnopqrstuvwxyz", k=random.Random(-i).randint(2, 11)))
    for i in range(4000)
]


def generate(root: Path, files: int, total_mb: int) -> None:
    """Deterministic tree: 100 files per directory, log-normal sizes scaled to ``total_mb``; even-numbered
    files are random bytes, odd ones text made of words."""
    rng = random.Random(42)
    sizes = [rng.lognormvariate(8.5, 1.6) for _ in range(files)]
    scale = total_mb * 1_000_000 / sum(sizes)
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    for i, raw in enumerate(sizes):
        size = int(raw * scale)
        directory = tmp / f"d{i // 100 // 20:02d}" / f"sub{i // 100:03d}"
        directory.mkdir(parents=True, exist_ok=True)
        if i % 2 == 0:
            data = rng.randbytes(size)
        else:
            text = " ".join(rng.choices(WORDS, k=size // 5 + 1)).encode()
            data = text[:size]
        (directory / f"file{i:05d}.{'bin' if i % 2 == 0 else 'txt'}").write_bytes(data)
    tmp.rename(root)


def run(commands: list[list[str]], stdout_path: Path) -> tuple[float, int]:
    """Run ``commands`` as a pipeline into ``stdout_path``; return (seconds, summed peak RSS in KiB)."""
    start = time.perf_counter()
    procs: list[subprocess.Popen] = []
    with open(stdout_path, "wb") as out:
        previous = None
        for i, cmd in enumerate(commands):
            last = i == len(commands) - 1
            p = subprocess.Popen(cmd, stdin=previous, stdout=out if last else subprocess.PIPE)
            if previous is not None:
                previous.close()
            previous = p.stdout
            procs.append(p)
        rss = 0
        for p in procs:
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode != 0:
                raise SystemExit(f"{commands} failed with {p.returncode}")
            rss += usage.ru_maxrss
    return time.perf_counter() - start, rss


def pybuild(compression: str, tree: Path, out: Path, store: Path | None) -> list[list[str]]:
    if store is None:
        code = (
            "import sys; from pathlib import Path; from builder.layer import write_layer\n"
            "with open(sys.argv[2], 'wb') as out: write_layer(Path(sys.argv[1]), out, compression=sys.argv[3])"
        )
    else:
        code = (
            "import sys; from pathlib import Path; from builder.layer import write_layer\n"
            "from builder.store import Store\n"
            "s = Store.open(sys.argv[4])\n"
            "with s.blob_writer() as w:\n"
            "    info = write_layer(Path(sys.argv[1]), w, compression=sys.argv[3]); w.commit()\n"
            "s.record_layer_blob(info.diff_id, info.digest, info.size, 'application/x-' + info.compression)"
        )
    return [[sys.executable, "-c", code, str(tree), str(out), compression, *([str(store)] if store else [])]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the median is reported")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")

    base = Path(os.environ.get("BENCH_DIR", "/tmp/pybuild-bench"))
    base.mkdir(parents=True, exist_ok=True)
    tree = base / f"layer-tree-{args.files}-{args.mb}"
    if not tree.exists():
        print(f"generating {tree} ...", file=sys.stderr)
        generate(tree, args.files, args.mb)
    tree_bytes = _size(tree)
    subprocess.run(["tar", "-C", str(tree), "-cf", "/dev/null", "."], check=True)  # warm the page cache

    out, store, unpacked = base / "out", base / "store", base / "unpacked"
    tar = ["tar", "-C", str(tree), "-cf", "-", "."]
    write_cases = [
        ("pybuild write_layer", "gzip (ISA-L)", lambda: pybuild("gzip", tree, out, None)),
        ("pybuild write_layer", "zstd -3", lambda: pybuild("zstd", tree, out, None)),
        ("pybuild write_layer → store", "gzip (ISA-L)", lambda: pybuild("gzip", tree, out, store)),
        ("tar -c \\| gzip", "gzip -6", lambda: [tar, ["gzip", "-c"]]),
        ("tar -c \\| zstd", "zstd -3", lambda: [tar, ["zstd", "-c", "-q"]]),
    ]
    if shutil.which("pigz"):
        write_cases.append(("tar -c \\| pigz", "gzip -6, all cores", lambda: [tar, ["pigz", "-c"]]))
    rows = measure(
        write_cases,
        out,
        args.repeat,
        lambda: shutil.rmtree(store, ignore_errors=True),
        lambda: out.stat().st_size or _size(store),
    )

    layers = {c: base / f"layer.{c}" for c in ("gzip", "zstd")}
    for compression, path in layers.items():
        run(pybuild(compression, tree, path, None), base / "stdout")
    untar = ["tar", "-C", str(unpacked), "-xf", "-"]
    apply_cases = [
        ("pybuild apply_layer", "gzip", lambda: apply(layers["gzip"], unpacked)),
        ("gzip -dc \\| tar -x", "gzip", lambda: [["gzip", "-dc", str(layers["gzip"])], untar]),
        ("pybuild apply_layer", "zstd", lambda: apply(layers["zstd"], unpacked)),
        ("zstd -dc \\| tar -x", "zstd", lambda: [["zstd", "-dcq", str(layers["zstd"])], untar]),
    ]

    def fresh_target() -> None:
        shutil.rmtree(unpacked, ignore_errors=True)
        unpacked.mkdir()

    apply_rows = measure(apply_cases, base / "stdout", args.repeat, fresh_target)
    for path in [out, base / "stdout", *layers.values()]:
        path.unlink(missing_ok=True)
    for path in (store, unpacked):
        shutil.rmtree(path, ignore_errors=True)

    cpus = len(os.sched_getaffinity(0))
    print(
        f"Tree: {args.files} files, {tree_bytes / 1e6:.0f} MB (half incompressible); {cpus} CPUs; "
        f"median of {args.repeat} run(s), page cache warm.\n"
    )
    print("| write | compression | time (s) | MB/s | speed vs tar\\|gzip | peak RSS (MiB) | output (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    reference = next(r[2] for r in rows if r[0].startswith("tar -c \\| gzip"))
    for name, compression, seconds, rss, size in rows:
        print(
            f"| {name} | {compression} | {seconds:.2f} | {tree_bytes / 1e6 / seconds:.0f} | "
            f"{reference / seconds:.1f}× | {rss / 1024:.0f} | {size / 1e6:.0f} |"
        )
    print("\n| apply | layer | time (s) | MB/s | peak RSS (MiB) |")
    print("|---|---|---:|---:|---:|")
    for name, compression, seconds, rss in apply_rows:
        speed = tree_bytes / 1e6 / seconds
        print(f"| {name} | {compression} | {seconds:.2f} | {speed:.0f} | {rss / 1024:.0f} |")
    return 0


def apply(layer: Path, target: Path) -> list[list[str]]:
    code = (
        "import sys; from pathlib import Path; from builder.layer import ROOT_FORM, apply_layer\n"
        "with open(sys.argv[1], 'rb') as f: apply_layer(f, Path(sys.argv[2]), form=ROOT_FORM)"
    )
    return [[sys.executable, "-c", code, str(layer), str(target)]]


def measure(cases, out: Path, repeat: int, before_each, output_size=None) -> list[list]:
    """Run each (name, compression, commands) ``repeat`` times; rows of name, compression, median
    seconds, largest peak RSS, and with ``output_size`` what it returns after the last run."""
    rows = []
    for name, compression, commands in cases:
        results = []
        for _ in range(repeat):
            before_each()
            results.append(run(commands(), out))
        rows.append([name, compression, statistics.median(r[0] for r in results), max(r[1] for r in results)])
        if output_size is not None:
            rows[-1].append(output_size())
    return rows


def _size(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


if __name__ == "__main__":
    sys.exit(main())
