"""The build's timeline as Chrome trace-event JSON (`builder.trace`): tracks per worker thread, the critical
path, the format's required keys, and many threads recording at once."""

from __future__ import annotations

import json
import threading

import jsonschema
import pytest

from builder.trace import CACHED, CRITICAL, Timeline

#: What the trace-event format requires of the events pybuild writes (JSON Object Format, complete events
#: ``X`` with microsecond ``ts``/``dur``, metadata events ``M`` naming the process and its threads).
TRACE_SCHEMA = {
    "type": "object",
    "required": ["traceEvents"],
    "properties": {
        "displayTimeUnit": {"enum": ["ms", "ns"]},
        "traceEvents": {
            "type": "array",
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["name", "ph", "ts", "dur", "pid", "tid"],
                        "properties": {
                            "name": {"type": "string"},
                            "cat": {"type": "string"},
                            "ph": {"const": "X"},
                            "ts": {"type": "number", "minimum": 0},
                            "dur": {"type": "number", "minimum": 0},
                            "pid": {"type": "integer"},
                            "tid": {"type": "integer"},
                            "cname": {"type": "string"},
                            "args": {
                                "type": "object",
                                "required": ["cached", "critical_path"],
                                "properties": {
                                    "cached": {"type": "boolean"},
                                    "critical_path": {"type": "boolean"},
                                },
                            },
                        },
                    },
                    {
                        "type": "object",
                        "required": ["name", "ph", "pid", "tid", "args"],
                        "properties": {
                            "name": {"enum": ["process_name", "thread_name", "thread_sort_index"]},
                            "ph": {"const": "M"},
                            "pid": {"type": "integer"},
                            "tid": {"type": "integer"},
                            "args": {"type": "object"},
                        },
                    },
                ]
            },
        },
    },
}


class Clock:
    """A clock the test sets, in milliseconds (the timeline reads nanoseconds)."""

    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> int:
        return self.ms * 1_000_000


def _spans(document: dict) -> dict[str, dict]:
    return {event["name"]: event for event in document["traceEvents"] if event["ph"] == "X"}


def _in_thread(action) -> None:
    thread = threading.Thread(target=action)
    thread.start()
    thread.join()


def test_spans_of_two_threads_land_on_two_named_tracks():
    timeline = Timeline()
    ready = threading.Barrier(2)

    def work(name: str) -> None:
        span = timeline.begin(name)
        ready.wait()  # both spans open at once: two concurrent workers
        timeline.end(span, cached=False)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("[a 2/2] RUN x", "[b 2/2] RUN y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    document = timeline.events()
    spans = _spans(document)
    assert {spans["[a 2/2] RUN x"]["tid"], spans["[b 2/2] RUN y"]["tid"]} == {1, 2}
    names = {e["tid"]: e["args"]["name"] for e in document["traceEvents"] if e["name"] == "thread_name"}
    assert names == {1: "worker 1", 2: "worker 2"}
    assert all(span["pid"] == 1 for span in spans.values())


def test_tracks_are_numbered_in_the_order_threads_first_begin_a_span():
    timeline = Timeline()
    _in_thread(lambda: timeline.end(timeline.begin("first"), cached=False))
    _in_thread(lambda: timeline.end(timeline.begin("second"), cached=True))
    timeline.end(timeline.begin("third"), cached=False)
    spans = _spans(timeline.events())
    assert [spans[name]["tid"] for name in ("first", "second", "third")] == [1, 2, 3]
    assert spans["second"]["args"]["cached"] is True and spans["first"]["args"]["cached"] is False


def test_one_thread_keeps_its_track_for_all_its_spans():
    timeline = Timeline()
    for name in ("one", "two", "three"):
        timeline.end(timeline.begin(name), cached=False)
    assert {span["tid"] for span in _spans(timeline.events()).values()} == {1}


def test_critical_path_follows_the_dependencies_of_the_span_that_ends_last():
    # base ─┬─ slow (ends at 9) ──┐
    #       └─ fast (ends at 3) ──┴─ final (ends at 12);  other: independent, ends at 10
    clock = Clock()
    timeline = Timeline(clock)
    base = timeline.begin("base")
    clock.ms = 1
    timeline.end(base, cached=True)
    slow = timeline.begin("slow", after=[base])
    fast = timeline.begin("fast", after=[base])
    other = timeline.begin("other")
    clock.ms = 3
    timeline.end(fast, cached=False)
    clock.ms = 9
    timeline.end(slow, cached=False)
    final = timeline.begin("final", after=[fast, slow])
    clock.ms = 10
    timeline.end(other, cached=False)
    clock.ms = 12
    timeline.end(final, cached=False)

    assert timeline.critical_path() == [base, slow, final]
    spans = _spans(timeline.events())
    on_path = {name for name, span in spans.items() if span["args"]["critical_path"]}
    assert on_path == {"base", "slow", "final"}
    assert {spans[name].get("cname") for name in on_path} == {CRITICAL}
    assert all(spans[name].get("cname") != CRITICAL for name in ("fast", "other"))
    assert spans["final"]["ts"] == 9000 and spans["final"]["dur"] == 3000  # microseconds
    assert spans["slow"]["args"]["after"] == [base]


def test_critical_path_ends_with_an_independent_span_that_ends_last():
    clock = Clock()
    timeline = Timeline(clock)
    first = timeline.begin("first")
    clock.ms = 2
    timeline.end(first, cached=False)
    then = timeline.begin("then", after=[first])
    alone = timeline.begin("alone")
    clock.ms = 5
    timeline.end(then, cached=True)
    clock.ms = 7
    timeline.end(alone, cached=True)
    assert timeline.critical_path() == [alone]
    spans = _spans(timeline.events())
    assert spans["then"]["cname"] == CACHED  # cached, off the path
    assert spans["alone"]["cname"] == CRITICAL and spans["alone"]["args"]["cached"] is True


def test_the_trace_has_the_formats_required_keys_and_opens_as_json(tmp_path):
    clock = Clock()
    timeline = Timeline(clock)
    done = timeline.begin("[stage-0 2/3] RUN make (Buildfile:2)")
    clock.ms = 4
    timeline.end(done, cached=False)
    failed = timeline.begin("[stage-0 3/3] RUN test (Buildfile:3)", after=[done])
    clock.ms = 5
    timeline.end(failed, cached=False, failed=True)
    timeline.begin("[other 2/2] RUN sleep 9 (Buildfile:6)")  # still open when written
    clock.ms = 6
    path = tmp_path / "trace.json"
    timeline.write(path)

    document = json.loads(path.read_text())
    jsonschema.validate(document, TRACE_SCHEMA)
    assert document["displayTimeUnit"] == "ms"
    process = [e for e in document["traceEvents"] if e["name"] == "process_name"]
    assert process == [{"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "pybuild"}}]
    spans = _spans(document)
    assert spans["[stage-0 3/3] RUN test (Buildfile:3)"]["args"]["failed"] is True
    assert spans["[other 2/2] RUN sleep 9 (Buildfile:6)"]["args"]["unfinished"] is True
    assert spans["[other 2/2] RUN sleep 9 (Buildfile:6)"]["dur"] == 1000  # drawn up to the moment of writing
    assert [p.name for p in tmp_path.iterdir()] == ["trace.json"]  # no temporary file left beside it


def test_an_empty_timeline_writes_a_valid_trace():
    document = Timeline().events()
    jsonschema.validate(document, TRACE_SCHEMA)
    assert _spans(document) == {}


def test_unknown_spans_are_refused_and_a_second_end_keeps_the_first():
    clock = Clock()
    timeline = Timeline(clock)
    with pytest.raises(ValueError, match="unknown span ids in after: \\[3\\]"):
        timeline.begin("x", after=[3])
    with pytest.raises(ValueError, match="unknown span id 0"):
        timeline.end(0, cached=False)
    span = timeline.begin("y")
    clock.ms = 1
    timeline.end(span, cached=True)
    clock.ms = 2
    timeline.end(span, cached=False, failed=True)  # e.g. a `finally` after a cancellation
    (only,) = timeline.spans()
    assert (only.end, only.cached, only.failed) == (1_000_000, True, False)


def test_many_threads_recording_at_once_lose_nothing_and_never_overlap_on_a_track():
    timeline = Timeline()
    workers, per_worker = 12, 150
    start = threading.Barrier(workers)
    ids: list[list[int]] = [[] for _ in range(workers)]

    def work(index: int) -> None:
        start.wait()
        previous: list[int] = []
        for n in range(per_worker):
            span = timeline.begin(f"w{index} op{n}", after=previous)
            timeline.end(span, cached=n % 2 == 0)
            ids[index].append(span)
            previous = [span]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    spans = timeline.spans()
    assert sorted(s.id for s in spans) == list(range(workers * per_worker))
    assert sorted(i for chunk in ids for i in chunk) == list(range(workers * per_worker))
    assert {s.track for s in spans} == set(range(1, workers + 1))
    for track in range(1, workers + 1):
        mine = sorted((s for s in spans if s.track == track), key=lambda s: s.start)
        assert len(mine) == per_worker
        assert len({s.name.split()[0] for s in mine}) == 1  # one worker's ops, none of another's
        assert all(a.end <= b.start for a, b in zip(mine, mine[1:], strict=False))
    document = timeline.events()
    jsonschema.validate(document, TRACE_SCHEMA)
    critical = [e for e in document["traceEvents"] if e["ph"] == "X" and e["args"]["critical_path"]]
    assert len(critical) == per_worker  # the chain of the worker that finished last, start to end
