"""The benchmark's instruments: peak RSS of a process tree, the table's medians and ratios, the registry."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

from bench import inputs
from bench.measure import FLOOR, Measured, measure
from bench.registry import Registry
from bench.report import table
from bench.workloads import _floor

# A parent that holds ~40 MB and starts a child holding ~60 MB, both alive together for a moment.
_TREE = """
import subprocess, sys, time
held = bytearray(40 * 2**20)
child = subprocess.Popen([sys.executable, "-c", "b = bytearray(60 * 2**20); import time; time.sleep(0.6)"])
child.wait()
"""


def test_peak_rss_sums_the_whole_tree(tmp_path: Path) -> None:
    result = measure([sys.executable, "-c", _TREE], tmp_path / "log")
    assert result.returncode == 0
    assert result.rss_tree >= 100 * 2**20  # the child's 60 MB counted on top of the parent's 40 MB
    assert result.rss_own == result.rss_tree  # no other pid namespace involved
    assert result.rss_tree < 400 * 2**20


_FORK = """
import os, sys, time
held = bytearray(int(sys.argv[1]) * 2**20)
if os.fork() == 0:
    time.sleep(0.6)  # shares what the parent holds copy-on-write, writes nothing
    os._exit(0)
os.wait()
"""


def test_pages_a_fork_shares_are_counted_once(tmp_path: Path) -> None:
    # The same two processes without and with 200 MB held before the fork: the interpreters' own pages,
    # whatever the machine maps for them, are in both and drop out of the difference. Counted once, the
    # 200 MB adds 200 MB; counted twice (once per process) it would add 400 MB. The bounds sit halfway.
    without = measure([sys.executable, "-c", _FORK, "0"], tmp_path / "log0")
    held = measure([sys.executable, "-c", _FORK, "200"], tmp_path / "log200")
    assert without.returncode == held.returncode == 0
    added = held.rss_tree - without.rss_tree
    assert 100 * 2**20 <= added < 300 * 2**20


def test_failing_command_is_reported_not_raised(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = measure([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], log)
    assert result.returncode == 3
    assert "boom" in log.read_text()


def _runs(*seconds: float, failed: int = 0) -> list[Measured]:
    return [Measured(s, 50 * 2**20, 40 * 2**20, 0) for s in seconds] + [Measured(9.9, 0, 0, 1)] * failed


def test_table_medians_spread_ratios_and_target() -> None:
    results = {
        "small-warm": {
            "pybuild": _runs(0.1, 0.3, 0.2),
            "buildkit": _runs(0.5, 0.4, 0.6),
            "buildah": _runs(1.0, 2.0, 3.0),
        },
        "bigctx-cold": {"pybuild": _runs(5.0, failed=1), "buildah": _runs(10.0), "buildkit": _runs(4.0)},
        "push": {"skopeo": _runs(2.0)},
    }
    rows = {
        line.split("|")[1].strip(): line for line in table(results, 3).splitlines() if line.startswith("| ")
    }
    warm = [cell.strip() for cell in rows["small-warm"].split("|")[1:-1]]
    assert warm == [
        "small-warm",
        "0.20 (0.10–0.30)",
        "0.50 (0.40–0.60)",
        "2.00 (1.00–3.00)",
        "0.40",
        "0.10",
        "≤ 0.5",
        "yes",
        "50 / 40",
    ]
    cold = [cell.strip() for cell in rows["bigctx-cold"].split("|")[1:-1]]
    assert cold[1:8] == ["5.00 (1 failed)", "4.00", "10.00", "1.25", "0.50", "≤ 0.5", "no"]
    push = [cell.strip() for cell in rows["push"].split("|")[1:-1]]
    assert push[1:8] == ["not yet", "—", "2.00", "—", "—", "≤ 1 (skopeo)", "—"]


def test_registry_restarts_empty(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry", tmp_path / "log")
    try:
        registry.start()
        with urllib.request.urlopen(f"http://{registry.address}/v2/_catalog") as reply:
            assert b'"repositories":[]' in reply.read()
        (tmp_path / "registry" / "data" / "marker").write_text("x")
        registry.restart(wipe=True)
        assert not (tmp_path / "registry" / "data" / "marker").exists()
        with urllib.request.urlopen(f"http://{registry.address}/v2/") as reply:
            assert reply.status == 200
    finally:
        registry.stop()


def test_table_leaves_out_a_tool_that_ran_nowhere() -> None:
    lines = table({"parallel-cold": {"pybuild": _runs(10.0, 11.0)}, "push": {"skopeo": _runs(2.0)}}, 2)
    header = next(line for line in lines.splitlines() if line.startswith("| workload"))
    assert "BuildKit" not in header
    assert [cell.strip() for cell in header.split("|")[2:5]] == ["pybuild s", "buildah s", "pybuild/buildah"]
    row = next(line for line in lines.splitlines() if line.startswith("| parallel-cold"))
    assert [cell.strip() for cell in row.split("|")[1:5]] == ["parallel-cold", "10.50 (10.00–11.00)", "—", "—"]


def test_the_floor_is_a_line_under_the_table_not_a_column() -> None:
    results = {
        "parallel-cold": {
            "pybuild": _runs(2.7, 2.8, 2.9),
            "buildkit": _runs(2.8, 2.9, 3.0),
            FLOOR: _runs(2.2, 2.3, 2.4),
        }
    }
    text = table(results, 3)
    header = next(line for line in text.splitlines() if line.startswith("| workload"))
    assert "floor" not in header
    assert (
        "parallel-cold's own work run by a shell with no builder (the floor of any builder's time here):"
        " 2.30 (2.20–2.40) s, 0.79 of BuildKit's." in text.splitlines()
    )


def test_the_parallel_floor_does_the_work_and_leaves_nothing(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = _floor(inputs.PARALLEL_FLOOR, tmp_path, log)
    assert result.returncode == 0, log.read_text()
    assert 2.0 <= result.seconds < 6.0  # the four stages' two-second sleeps, at once (one after another: 8 s)
    assert list((tmp_path / "scratch").iterdir()) == []
