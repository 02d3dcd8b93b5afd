"""Independent stages build at the same time (runc, overlayfs), the trace shows it, a failure cancels the
rest cleanly, and the image is the one a sequential build makes."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.build.conftest import write_context

FOUR_STAGES = """\
FROM busybox:latest AS a
RUN sleep 1 && echo a > /a
FROM busybox:latest AS b
RUN sleep 1 && echo b > /b
FROM busybox:latest AS c
RUN sleep 1 && echo c > /c
FROM busybox:latest AS d
RUN sleep 1 && echo d > /d
FROM busybox:latest
COPY --from=a /a /a
COPY --from=b /b /b
COPY --from=c /c /c
COPY --from=d /d /d
"""


def _spans(trace: Path) -> list[dict]:
    """The spans of the trace's steps (not those of inputs read ahead: ``cat`` ``read``)."""
    events = json.loads(trace.read_text())["traceEvents"]
    return [e for e in events if e.get("ph") == "X" and e["cat"] == "step"]


def _overlap(one: dict, two: dict) -> bool:
    return one["ts"] < two["ts"] + two["dur"] and two["ts"] < one["ts"] + one["dur"]


def _our_mounts(store: Path) -> list[str]:
    with open("/proc/mounts") as mounts:
        return [line for line in mounts if str(store) in line]


def test_independent_stages_run_at_the_same_time(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", FOUR_STAGES)
    pybuild("--trace", str(context / "trace.json"), "--progress=plain", "-t", "four:1", str(context))
    runs = [s for s in _spans(context / "trace.json") if "RUN sleep" in s["name"]]
    assert len(runs) == 4
    assert all(_overlap(runs[0], other) for other in runs[1:]), "the four stages did not run at once"
    assert len({s["tid"] for s in runs}) == 4
    copies = [s for s in _spans(context / "trace.json") if "COPY --from" in s["name"]]
    last_run_end = max(s["ts"] + s["dur"] for s in runs)
    assert all(c["ts"] >= min(s["ts"] + s["dur"] for s in runs) for c in copies)
    assert max(c["ts"] + c["dur"] for c in copies) >= last_run_end
    assert any(s["args"].get("critical_path") for s in runs + copies)
    shown = pybuild("run", "four:1", "cat", "/a", "/b", "/c", "/d").out
    assert shown.split() == ["a", "b", "c", "d"]


def test_jobs_1_gives_the_same_image_one_step_at_a_time(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", FOUR_STAGES)
    epoch = ("--build-arg", "SOURCE_DATE_EPOCH=1700000000")
    pybuild(*epoch, "--no-cache", "--iidfile", str(context / "parallel"), str(context))
    trace = str(context / "serial.json")
    pybuild(
        *epoch,
        "--no-cache",
        "--jobs",
        "1",
        "--trace",
        trace,
        "--iidfile",
        str(context / "serial"),
        str(context),
    )
    assert (context / "parallel").read_text() == (context / "serial").read_text()
    runs = sorted((s for s in _spans(context / "serial.json") if "RUN" in s["name"]), key=lambda s: s["ts"])
    assert not any(_overlap(one, two) for one, two in zip(runs, runs[1:], strict=False))


def test_plain_progress_prefixes_every_line_of_interleaved_steps(pybuild, tmp_path: Path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox:latest AS a\nRUN for i in 1 2 3; do echo a$i; sleep 0.3; done\n"
        "FROM busybox:latest AS b\nRUN for i in 1 2 3; do echo b$i; sleep 0.3; done\n"
        "FROM busybox:latest\nCOPY --from=a /bin/sh /a\nCOPY --from=b /bin/sh /b\n",
    )
    err = pybuild("--progress=plain", str(context)).err
    numbers = {}
    for line in err.splitlines():
        if line.startswith("#") and " RUN for" in line:
            numbers[line.split()[1].lstrip("[")] = line.split()[0]
    assert set(numbers) == {"a", "b"}
    for stage in ("a", "b"):
        printed = [line for line in err.splitlines() if line.endswith(tuple(f" {stage}{i}" for i in "123"))]
        assert len(printed) == 3 and all(line.startswith(numbers[stage] + " ") for line in printed)


def test_a_failing_stage_cancels_a_running_one_and_leaves_nothing_behind(pybuild, tmp_path: Path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox:latest AS slow\nRUN echo started; sleep 60\n"
        "FROM busybox:latest AS bad\nRUN sleep 1; exit 7\n"
        "FROM busybox:latest\nCOPY --from=slow /bin/sh /a\nCOPY --from=bad /bin/sh /b\n",
    )
    started = time.monotonic()
    result = pybuild("--progress=plain", str(context), check=False)
    assert result.returncode == 1
    assert f"{context / 'Buildfile'}:4:1: error: RUN exited with code 7" in result.err
    assert time.monotonic() - started < 45, "the sleeping stage was not cancelled"
    assert "Traceback" not in result.err
    assert _our_mounts(pybuild.root) == []
    runc_state = pybuild.root / "state" / "runtime" / "runc"
    assert not runc_state.exists() or list(runc_state.iterdir()) == []
    staging = pybuild.root / "tmp"
    assert not staging.exists() or not any(p.name.startswith("staging") for p in staging.rglob("*"))


def test_ctrl_c_during_concurrent_steps_kills_them_all(pybuild, tmp_path: Path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox:latest AS a\nRUN echo started-a; sleep 60\n"
        "FROM busybox:latest AS b\nRUN echo started-b; sleep 60\n"
        "FROM busybox:latest\nCOPY --from=a /bin/sh /a\nCOPY --from=b /bin/sh /b\n",
    )
    process = pybuild.popen("--progress=plain", "-f", str(context / "Buildfile"), str(context))
    deadline = time.monotonic() + 60
    seen = b""
    while not (b"started-a" in seen and b"started-b" in seen) and time.monotonic() < deadline:
        seen += process.stdout.read1(4096)
    assert b"started-a" in seen and b"started-b" in seen
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert process.returncode != 0
    assert _our_mounts(pybuild.root) == []
    runc_state = pybuild.root / "state" / "runtime" / "runc"
    assert not runc_state.exists() or list(runc_state.iterdir()) == []
