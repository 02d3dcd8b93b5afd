"""The bake workload: its bake file read alike by pybuild and buildx 0.13, and buildah's column "n/a"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import bake
from bench.measure import NOT_APPLICABLE, Measured
from bench.report import table
from bench.tools import Buildah
from bench.workloads import GROUPS, run_group

REPO = Path(__file__).resolve().parents[2]
# `docker buildx bake -f compose.yaml -f docker-bake.hcl --print` (buildx 0.13.1, the reference daemon) of the
# files `bench.bake.bake_files` wrote for a Buildfile /tmp/bb-check/bake-shared.Buildfile and a context
# /tmp/bb-check/ctx.
RECORDED = Path(__file__).parent / "recorded" / "bake-shared.print.json"
RECORDED_DIR = "/tmp/bb-check"


def test_pybuild_resolves_the_bench_bake_file_as_buildx_does(tmp_path: Path) -> None:
    buildfile = tmp_path / "bake-shared.Buildfile"
    buildfile.write_text(bake.BUILDFILE)
    (tmp_path / "ctx").mkdir()
    compose, hcl = bake.bake_files(tmp_path, "bake-shared", buildfile, tmp_path / "ctx", bake.TARGETS)
    assert (compose.name, hcl.name) == ("compose.yaml", "docker-bake.hcl")
    done = subprocess.run(
        [sys.executable, "-m", "builder", "bake", "-f", str(compose), "-f", str(hcl), "--print"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == RECORDED.read_text().replace(RECORDED_DIR, str(tmp_path))
    targets = json.loads(done.stdout)["target"]
    assert sorted(targets) == ["api", "web", "worker"]
    assert {t["tags"][0] for t in targets.values()} == set(bake.tags("bake-shared", bake.TARGETS))


def test_the_shared_stage_is_one_stage_under_three_targets() -> None:
    stages = bake.BUILDFILE.split("\n\n")
    assert stages[0].startswith("FROM pybuild-bench/busybox:1 AS base\nRUN sleep 1 && dd")
    assert [s.splitlines()[0] for s in stages[1:]] == [f"FROM base AS {t}" for t in bake.TARGETS]
    assert len({s.splitlines()[1] for s in stages[1:]}) == 3  # three operations, not one merged


def test_buildah_is_not_applicable_and_gets_no_storage(tmp_path: Path) -> None:
    group = next(g for g in GROUPS if g.name == "bake")
    buildah = Buildah(tmp_path / "buildah", tmp_path / "log")
    got = run_group(group, [buildah], tmp_path, 1, {"bake-shared"}, tmp_path / "log")
    assert got == {"bake-shared": {"buildah": NOT_APPLICABLE}}
    assert not (tmp_path / "buildah").exists() and not (tmp_path / "inputs").exists()


def test_the_table_says_n_a_not_missing_nor_failed() -> None:
    runs = [Measured(3.0, 50 * 2**20, 40 * 2**20, 0)]
    results = {"bake-shared": {"pybuild": runs, "buildkit": runs, "buildah": NOT_APPLICABLE}}
    row = next(line for line in table(results, 1).splitlines() if line.startswith("| bake-shared"))
    assert [cell.strip() for cell in row.split("|")[1:8]] == [
        "bake-shared",
        "3.00",
        "3.00",
        "n/a",
        "1.00",
        "n/a",
        "—",
    ]
