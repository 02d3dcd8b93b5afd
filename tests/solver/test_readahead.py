"""Reading a step's inputs ahead of it (`builder.solver.readahead`): a COPY's sources are read as soon as the
stage they come from is done, while the steps before the COPY still run; each once; a failure reported at
its step, in step order."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from builder.errors import BuildError
from builder.ops import CopyOp, RunOp
from tests.solver.harness import Solver

FINAL_COPIES = """\
FROM scratch AS a
RUN make a
FROM scratch AS b
RUN make b
FROM scratch AS c
RUN make c
FROM scratch
COPY --from=a /a /a
COPY --from=b /b /b
COPY --from=c /c /c
"""


@pytest.fixture
def solver(tmp_path: Path) -> Solver:
    return Solver(tmp_path / "store")


#: a stage whose RUN fails after 0.5 s, then copies from stage b
FAILING_BEFORE_COPY = "FROM scratch AS b\nRUN make b\nFROM scratch\nRUN fail\nCOPY --from=b /b /b\n"


def _fail(op):
    return "RUN exited with code 1" if isinstance(op, RunOp) and "fail" in op.argv[-1] else None


def _fail_late(op):
    return 0.5 if isinstance(op, RunOp) and "fail" in op.argv[-1] else 0.0


def _copy_delay(seconds: float):
    return lambda op: seconds if isinstance(op, CopyOp) else 0.0


def test_later_copies_read_their_sources_while_the_first_copy_runs(solver: Solver):
    outcome = solver.solve(FINAL_COPIES, jobs=4, delay=_copy_delay(0.4), read_delay=_copy_delay(0.4))
    reads = {call.about: call for call in outcome.effects.calls if call.kind == "inputs"}
    fills = {call.about: call for call in outcome.effects.fills("copy")}
    assert set(reads) == {"/a", "/b", "/c"}
    # the fill of COPY /a (0.4 s) is under way while /b's and /c's sources are read
    for later in ("/b", "/c"):
        assert reads[later].started < fills["/a"].ended, f"{later} was read only after COPY /a was done"
    # the fills still follow one another: each is a layer on the one before
    assert fills["/a"].ended <= fills["/b"].started and fills["/b"].ended <= fills["/c"].started


def test_each_steps_inputs_are_read_once_and_a_rebuild_hits(solver: Solver):
    first = solver.solve(FINAL_COPIES, read_delay=_copy_delay(0.05))
    assert sorted(call.about for call in first.effects.calls if call.kind == "inputs") == ["/a", "/b", "/c"]
    again = solver.solve(FINAL_COPIES, read_delay=_copy_delay(0.05))
    assert sorted(call.about for call in again.effects.calls if call.kind == "inputs") == ["/a", "/b", "/c"]
    assert all(record.cached for record in again.layer_records())


def test_a_failed_read_ahead_is_reported_at_its_step_after_an_earlier_failure(solver: Solver):
    # COPY /b's read fails at once, ahead; the RUN before it fails later: the RUN's error is the build's, as
    # a build reading nothing ahead would report it
    with pytest.raises(BuildError) as raised:
        solver.solve(
            FAILING_BEFORE_COPY,
            fail=_fail,
            delay=_fail_late,
            read_fail=lambda op: "no source files were specified",
        )
    assert raised.value.message == "RUN exited with code 1"
    assert raised.value.span is not None and raised.value.span.line == 4
    assert any(call.kind == "inputs" for call in solver.last_effects.calls), "the COPY's read never ran"


def test_a_failed_read_ahead_is_located_at_its_copy(solver: Solver):
    text = "FROM scratch AS b\nRUN make b\nFROM scratch\nRUN slow\nCOPY --from=b /b /b\n"

    def delay(op):
        return 0.3 if isinstance(op, RunOp) and "slow" in op.argv[-1] else 0.0

    with pytest.raises(BuildError) as raised:
        solver.solve(text, delay=delay, read_fail=lambda op: "/b: not found")
    assert raised.value.message == "/b: not found"
    assert raised.value.span is not None and raised.value.span.line == 5


def test_the_trace_shows_a_read_ahead_and_the_copy_waiting_for_it(solver: Solver, tmp_path: Path):
    trace = tmp_path / "trace.json"
    text = "FROM scratch AS b\nRUN make b\nFROM scratch\nRUN slow\nCOPY --from=b /b /b\n"

    def delay(op):
        return 0.3 if isinstance(op, RunOp) and "slow" in op.argv[-1] else 0.0

    solver.solve(text, delay=delay, read_delay=_copy_delay(0.1), trace=trace)
    spans = [e for e in json.loads(trace.read_text())["traceEvents"] if e.get("ph") == "X"]
    reads = [e for e in spans if e["cat"] == "read"]
    assert [e["name"] for e in reads] == ["[stage-1 3/3] COPY --from=b /b /b (line 5): reading its sources"]
    copy = next(e for e in spans if e["cat"] == "step" and "COPY" in e["name"])
    slow = next(e for e in spans if e["cat"] == "step" and "RUN slow" in e["name"])
    assert reads[0]["ts"] < slow["ts"] + slow["dur"], "the sources were not read while RUN slow ran"
    assert reads[0]["args"]["id"] in copy["args"]["after"]


@pytest.mark.parametrize(
    "copy",
    ["COPY src /src", "COPY --from=alpine:3 /etc/os-release /os-release"],
    ids=["the build context", "an image"],
)
def test_a_copy_from_the_context_or_an_image_reads_when_it_runs(solver: Solver, copy: str):
    # the context may change while the steps before run: read early, a file edited meanwhile would be
    # keyed by its old content and copied with its new one; an image's files may need a pull
    text = f"FROM scratch\nRUN slow\n{copy}\n"

    def delay(op):
        return 0.3 if isinstance(op, RunOp) else 0.0

    outcome = solver.solve(text, delay=delay)
    (run,) = outcome.effects.fills("run")
    (read,) = [call for call in outcome.effects.calls if call.kind == "inputs"]
    assert read.started >= run.ended, "the COPY's sources were read before the step before it was done"


def test_a_read_ahead_span_ends_before_its_step_begins(solver: Solver, tmp_path: Path):
    trace = tmp_path / "trace.json"
    solver.solve(FINAL_COPIES, delay=_copy_delay(0.2), read_delay=_copy_delay(0.1), trace=trace)
    spans = {e["args"]["id"]: e for e in json.loads(trace.read_text())["traceEvents"] if e.get("ph") == "X"}
    reads = [e for e in spans.values() if e["cat"] == "read"]
    assert reads, "no sources were read ahead"
    for step in (e for e in spans.values() if e["cat"] == "step"):
        for before in step["args"]["after"]:
            if spans[before]["cat"] == "read":
                assert spans[before]["ts"] + spans[before]["dur"] <= step["ts"]


def test_a_failure_stops_a_read_ahead_under_way(solver: Solver):
    # the COPY's sources take 10 s to read, ahead, while the RUN before it fails: the failure is reported
    # at once, the read stopped, not waited for
    started = time.monotonic()
    with pytest.raises(BuildError) as raised:
        solver.solve(FAILING_BEFORE_COPY, fail=_fail, delay=_fail_late, read_delay=_copy_delay(10.0))
    assert time.monotonic() - started < 5, "the build waited for the read ahead to finish"
    assert raised.value.message == "RUN exited with code 1"
    (read,) = [call for call in solver.last_effects.calls if call.kind == "inputs"]
    assert read.cancelled
