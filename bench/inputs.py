"""The benchmark's inputs, made once under the bench directory and reused by later runs.

Each input is built in ``NAME.partial`` and renamed into place when complete, so an interrupted preparation
is redone rather than half-used. Generated data is deterministic (seeded), so every run measures the same
bytes.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUSYBOX = Path("/bin/busybox")
DEBIAN_MIRROR = os.environ.get("BENCH_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SUITE = "bookworm"

# Base image names used by every tool, so no Buildfile differs between them and nothing shadows a name
# that other users of a shared daemon may rely on.
BUSYBOX_IMAGE = "pybuild-bench/busybox:1"
DEBIAN_IMAGE = "pybuild-bench/debian:1"
# One tag per architecture (the docker driver's image store holds no index): FROM picks it by TARGETARCH.
STATIC_IMAGE = "pybuild-bench/busybox-static"

SMALL_BUILDFILE = f"""\
FROM {BUSYBOX_IMAGE}
ENV APP_HOME=/app
ENV APP_MODE=bench
WORKDIR /app
COPY files/ ./files/
RUN find /app/files -type f | sort > /app/manifest.txt && wc -l /app/manifest.txt
RUN mkdir -p /srv/data && cat /app/files/*/*.txt > /srv/data/all.txt && md5sum /srv/data/all.txt
LABEL org.example.bench=small
LABEL org.example.files=50
EXPOSE 8080
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/manifest.txt"]
"""

BIGCTX_BUILDFILE = f"""\
FROM {BUSYBOX_IMAGE}
COPY . /app
RUN find /app -type f | wc -l > /app-count.txt && du -s /app >> /app-count.txt
"""

BIGLAYER_BUILDFILE = f"""\
FROM {DEBIAN_IMAGE}
RUN set -e; mkdir -p /data/small; cd /data/small; \\
    for d in $(seq 0 199); do mkdir d$d; for f in $(seq 0 99); do echo "file $d/$f" > d$d/f$f; done; done; \\
    head -c 200000000 /dev/urandom > /data/random.bin; \\
    cp -a /usr/share /data/share
"""

APT_BUILDFILE = f"""\
FROM {DEBIAN_IMAGE}
RUN apt-get update && apt-get install -y python3
WORKDIR /srv
CMD ["python3", "--version"]
"""

# Four independent stages (the command of the solver issue), then one copying from each. The ENV makes the
# four RUN steps four different operations: identical ones would be merged into one by BuildKit's solver,
# and the workload would time that merge instead of running independent stages side by side.
PARALLEL_BUILDFILE = (
    "".join(
        f"FROM {BUSYBOX_IMAGE} AS {stage}\nENV STAGE={stage}\n"
        "RUN sleep 2 && dd if=/dev/urandom of=/out bs=1M count=20\n\n"
        for stage in "abcd"
    )
    + f"FROM {BUSYBOX_IMAGE}\n"
    + "".join(f"COPY --from={stage} /out /{stage}.bin\n" for stage in "abcd")
)

# parallel-cold's own work with no builder, for the floor any builder's time has on this machine: the four
# stages' commands at once, then the final stage's four copies one after another, in a directory of its own
# under the bench's scratch directory ($1), removed at the end.
PARALLEL_FLOOR = """\
set -e
work=$(mktemp -d "$1/floor.XXXXXX")
pids=""
for stage in a b c d; do
    (sleep 2 && dd if=/dev/urandom of="$work/$stage" bs=1M count=20 2>/dev/null) &
    pids="$pids $!"
done
for pid in $pids; do wait "$pid"; done
mkdir "$work/final"
for stage in a b c d; do cp "$work/$stage" "$work/final/$stage.bin"; done
rm -rf "$work"
"""

# Built for linux/amd64 and linux/arm64 (one of them emulated), FROM the base of the platform being built.
TWO_PLATFORM_BUILDFILE = f"""\
FROM {STATIC_IMAGE}:${{TARGETARCH}}
WORKDIR /app
COPY files/ ./files/
RUN arch=$(uname -m) && for i in $(seq 1 2000); do echo "line $i $arch"; done > /app/lines.txt \\
    && md5sum /app/lines.txt && dd if=/dev/urandom of=/app/blob.bin bs=1M count=10 2>/dev/null \\
    && echo "$arch" > /app/arch
CMD ["cat", "/app/arch"]
"""
# buildah 1.28 expands TARGETARCH in FROM only when a global ARG declares it; BuildKit v0.13 (and pybuild, which
# follows it) predefine it there, and a bare global ``ARG TARGETARCH`` would make it empty for them.
TWO_PLATFORM_BUILDFILE_BUILDAH = "ARG TARGETARCH\n" + TWO_PLATFORM_BUILDFILE

# A Python application in four stages: the system Python from apt, a virtual environment with the
# requirements installed from the context's own wheelhouse (no index), the sources compiled, the tests run,
# and a runtime stage that takes the environment, the sources and the tests' verdict.
PYAPP_BUILDFILE = f"""\
FROM {DEBIAN_IMAGE} AS base
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \\
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONUNBUFFERED=1

FROM base AS deps
RUN python3 -m venv /venv
COPY requirements.txt /tmp/requirements.txt
COPY wheels/ /wheels/
RUN /venv/bin/pip install --disable-pip-version-check --no-index --find-links /wheels -r /tmp/requirements.txt

FROM deps AS build
WORKDIR /app
COPY pyproject.toml ./
COPY src/ ./src/
RUN /venv/bin/python -m compileall -q src && PYTHONPATH=src /venv/bin/python -m shopapp

FROM build AS test
COPY tests/ ./tests/
RUN PYTHONPATH=src /venv/bin/python -m unittest discover -q -s tests && date -u > /app/tested

FROM base
COPY --from=deps /venv /venv
COPY --from=build /app/src /app/src
COPY --from=test /app/tested /app/tested
ENV PATH=/venv/bin:$PATH PYTHONPATH=/app/src
WORKDIR /app
CMD ["python3", "-m", "shopapp"]
"""

BIGCTX_FILES = 20_000
BIGCTX_DIRS = 200
BIGCTX_BYTES = 140_000_000
TOUCHED_FILE = Path("d100") / "f10050.bin"


def _fresh(path: Path) -> Path:
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    return partial


def busybox_rootfs(dest: Path) -> Path:
    """A busybox root filesystem (the one the project's tests use) at ``dest``, made once."""
    if dest.exists():
        return dest
    sys.path.insert(0, str(REPO))
    from tests.support.images import busybox_rootfs as make

    partial = _fresh(dest)
    make(partial)
    partial.rename(dest)
    return dest


def debian_rootfs(dest: Path, log: Path) -> Path:
    """A minimal Debian root filesystem from ``debootstrap --variant=minbase`` at ``dest``, made once.

    Like Docker's debian images, apt's package lists and downloaded archives are removed, so ``apt-get
    update`` in a build starts from nothing."""
    if dest.exists():
        return dest
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is missing: apt-get install -y debootstrap")
    partial = _fresh(dest)
    with open(log, "ab") as out:
        subprocess.run(
            ["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(partial), DEBIAN_MIRROR],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )
    for leftover in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for entry in (partial / leftover).glob("*"):
            if entry.is_file():
                entry.unlink()
    partial.rename(dest)
    return dest


def small_context(dest: Path) -> Path:
    """50 files (text and a few binaries) under ``files/``; the Buildfile is written outside the context."""
    if dest.exists():
        return dest
    partial = _fresh(dest)
    rng = random.Random(7)
    for i in range(50):
        sub = partial / "files" / f"group{i % 5}"
        sub.mkdir(parents=True, exist_ok=True)
        if i % 10 == 9:
            (sub / f"blob{i:02d}.bin").write_bytes(rng.randbytes(rng.randint(1_000, 60_000)))
        else:
            lines = (f"line {n} of file {i}: {rng.random():.12f}" for n in range(rng.randint(5, 400)))
            (sub / f"note{i:02d}.txt").write_text("\n".join(lines) + "\n")
    partial.rename(dest)
    return dest


def big_context(dest: Path) -> Path:
    """``BIGCTX_FILES`` incompressible files in ``BIGCTX_DIRS`` directories, ``BIGCTX_BYTES`` in all.

    Sizes vary (uniform between a quarter and 1.75 times the mean) so small and larger files both occur.
    """
    if dest.exists():
        return dest
    partial = _fresh(dest)
    rng = random.Random(11)
    mean = BIGCTX_BYTES // BIGCTX_FILES
    per_dir = BIGCTX_FILES // BIGCTX_DIRS
    for i in range(BIGCTX_FILES):
        directory = partial / f"d{i // per_dir:03d}"
        if i % per_dir == 0:
            directory.mkdir(parents=True)
        size = rng.randint(mean // 4, mean * 7 // 4)
        (directory / f"f{i:05d}.bin").write_bytes(rng.randbytes(size))
    partial.rename(dest)
    return dest


def touch_one(context: Path, round_no: int) -> None:
    """Change the content of one file of the big context (same size, new bytes) for the touch workload."""
    path = context / TOUCHED_FILE
    size = path.stat().st_size
    data = random.Random(f"touch-{round_no}-{os.getpid()}").randbytes(size)
    path.write_bytes(data)


def buildfile(directory: Path, name: str, text: str) -> Path:
    """Write ``text`` as ``directory/NAME.Buildfile`` (rewritten each run so edits here take effect)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.Buildfile"
    path.write_text(text)
    return path


def empty_context(dest: Path) -> Path:
    """An empty directory, the context of builds that copy nothing."""
    dest.mkdir(parents=True, exist_ok=True)
    return dest
