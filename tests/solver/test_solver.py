"""The solver's decisions, without root: hits and misses, their reasons, ONBUILD, --no-cache-filter, history,
what runs at the same time, deduplication and cancellation (`RecordingEffects`, a real store)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from builder.errors import BuildError
from builder.ops import RunOp
from tests.solver.harness import Solver

TWO_STAGES = """\
FROM scratch AS a
RUN make a
FROM scratch AS b
RUN make b
FROM scratch
COPY --from=a /a /a
COPY --from=b /b /b
"""


@pytest.fixture
def solver(tmp_path: Path) -> Solver:
    return Solver(tmp_path / "store")


def test_a_first_build_runs_every_step_and_a_second_hits_every_one(solver: Solver):
    first = solver.solve(TWO_STAGES)
    assert [r.cached for r in first.layer_records()] == [False] * 4
    assert sorted(c.about for c in first.effects.fills("run")) == ["/bin/sh -c make a", "/bin/sh -c make b"]
    second = solver.solve(TWO_STAGES)
    assert [r.cached for r in second.layer_records()] == [True] * 4
    assert second.effects.fills() == []
    assert second.final().diff_ids == first.final().diff_ids


def test_a_changed_step_reruns_it_and_says_why_for_the_steps_after_it(solver: Solver):
    solver.solve("FROM scratch\nRUN one\nRUN two\n")
    changed = solver.solve("FROM scratch\nRUN ONE\nRUN two\n")
    reasons = [r.reason for r in changed.layer_records()]
    assert not any(r.cached for r in changed.layer_records())
    assert reasons[0] == "command changed: /bin/sh -c one → /bin/sh -c ONE"
    assert reasons[1] == "parent step ran"
    assert "#2 running: parent step ran" in changed.reporter_text


def test_onbuild_triggers_of_the_base_run_first_in_their_order(solver: Solver):
    solver.images["base"] = _image_with_triggers(["RUN trigger one", "RUN trigger two"])
    outcome = solver.solve("FROM base\nRUN own\n")
    assert [c.about for c in outcome.effects.fills("run")] == [
        "/bin/sh -c trigger one",
        "/bin/sh -c trigger two",
        "/bin/sh -c own",
    ]
    assert "OnBuild" not in outcome.final().state.config


def test_no_cache_filter_runs_only_the_named_stage(solver: Solver):
    solver.solve(TWO_STAGES)
    again = solver.solve(TWO_STAGES, no_cache_filter=("a",))
    by_stage = {(r.stage, r.text): r for r in again.layer_records()}
    assert not by_stage[("a", "RUN make a")].cached
    assert by_stage[("a", "RUN make a")].reason == "--no-cache-filter a"
    assert by_stage[("b", "RUN make b")].cached
    assert [c.about for c in again.effects.fills("run")] == ["/bin/sh -c make a"]


def test_history_lists_each_step_with_its_layer_times(solver: Solver):
    outcome = solver.solve("FROM scratch\nENV A=1\nRUN make\nWORKDIR /src\nLABEL x=y\n")
    history = outcome.final().state.document["history"]
    assert [h["created_by"] for h in history] == [
        "ENV A=1",
        "RUN /bin/sh -c make # buildkit",
        "WORKDIR /src",
        "LABEL x=y",
    ]
    assert [h.get("empty_layer", False) for h in history] == [True, False, False, True]
    assert all(h["created"] for h in history if not h.get("empty_layer"))
    assert outcome.final().state.document["rootfs"]["diff_ids"] == outcome.final().diff_ids
    assert len(outcome.final().diff_ids) == 2


def test_independent_stages_overlap_in_time_and_dependent_steps_follow(solver: Solver):
    outcome = solver.solve(TWO_STAGES, delay=lambda op: 0.4)
    runs = {c.about: c for c in outcome.effects.fills("run")}
    a, b = runs["/bin/sh -c make a"], runs["/bin/sh -c make b"]
    assert a.started < b.ended and b.started < a.ended, "the two independent stages did not overlap"
    assert a.thread != b.thread
    copies = sorted(outcome.effects.fills("copy"), key=lambda c: c.started)
    assert [c.about for c in copies] == ["/a", "/b"]
    assert copies[0].started >= a.ended, "COPY --from=a began before stage a was built"
    assert copies[1].started >= b.ended, "COPY --from=b began before stage b was built"


def test_jobs_1_runs_one_step_at_a_time(solver: Solver):
    outcome = solver.solve(TWO_STAGES, delay=lambda op: 0.2, jobs=1)
    fills = sorted(outcome.effects.fills(), key=lambda c: c.started)
    for before, after in zip(fills, fills[1:], strict=False):
        assert after.started >= before.ended - 1e-3


def test_an_identical_step_reached_from_two_platforms_runs_once(solver: Solver):
    text = (
        "FROM --platform=$BUILDPLATFORM scratch AS tools\nRUN make tools\n"
        "FROM scratch\nCOPY --from=tools /t /t\nRUN use\n"
    )
    outcome = solver.solve(text, platforms=("linux/amd64", "linux/arm64"), delay=lambda op: 0.2)
    runs = [c.about for c in outcome.effects.fills("run")]
    assert runs.count("/bin/sh -c make tools") == 1
    assert runs.count("/bin/sh -c use") == 2  # RUN keys on its stage's platform: one per platform
    tools = [r for r in outcome.layer_records() if r.text == "RUN make tools"]
    assert len(tools) == 2 and sorted(r.cached for r in tools) == [False, True]


def test_a_failure_cancels_the_rest_and_is_the_error_reported(solver: Solver):
    text = (
        "FROM scratch AS slow\nRUN sleep\nFROM scratch AS bad\nRUN fail\n"
        "FROM scratch\nCOPY --from=slow /a /a\nCOPY --from=bad /b /b\n"
    )

    def fail(op):
        return "RUN exited with code 1" if isinstance(op, RunOp) and "fail" in op.argv[-1] else None

    def delay(op):
        return 30.0 if isinstance(op, RunOp) and "sleep" in op.argv[-1] else 0.1

    started = time.monotonic()
    with pytest.raises(BuildError) as raised:
        solver.solve(text, fail=fail, delay=delay)
    assert time.monotonic() - started < 15, "the sleeping step was not cancelled"
    assert raised.value.message == "RUN exited with code 1"
    assert raised.value.span is not None and raised.value.span.line == 4
    calls = {c.about: c for c in solver.last_effects.calls}
    assert calls["/bin/sh -c sleep"].cancelled
    assert not any(Path(solver.root, "tmp").rglob("staging-*")), "a staging directory was left behind"


def test_the_trace_has_a_track_per_worker_and_marks_cached_steps(solver: Solver, tmp_path: Path):
    trace = tmp_path / "trace.json"
    solver.solve(TWO_STAGES, delay=lambda op: 0.2, trace=trace)
    events = json.loads(trace.read_text())["traceEvents"]
    spans = [e for e in events if e.get("ph") == "X" and e["cat"] == "step"]
    assert len(spans) == 4
    assert len({e["tid"] for e in spans}) >= 2
    assert any(e["args"].get("critical_path") for e in spans)
    solver.solve(TWO_STAGES, trace=trace)
    events = json.loads(trace.read_text())["traceEvents"]
    spans = [e for e in events if e.get("ph") == "X" and e["cat"] == "step"]
    assert len(spans) == 4 and all(e["args"]["cached"] for e in spans)


def _image_with_triggers(triggers: list[str]):
    from builder.ops import BaseImage

    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin"], "OnBuild": triggers},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }
    return BaseImage("base", "sha256:" + "1" * 64, config, (), ())
