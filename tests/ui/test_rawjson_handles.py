"""``--progress=rawjson`` for concurrent steps: each `StepProgress` of a `RawJsonReporter` is a vertex of its
own, its logs name it, and it completes as BuildKit's vertices do (cached, error, ``context canceled``)."""

from __future__ import annotations

import base64
import io
import json
import threading

from builder.rawjson import RawJsonReporter


def _objects(text: str) -> list[dict]:
    decoder, index, objects = json.JSONDecoder(), 0, []
    while index < len(text):
        while index < len(text) and text[index].isspace():
            index += 1
        if index == len(text):
            break
        document, index = decoder.raw_decode(text, index)
        objects.append(document)
    return objects


def _vertices(objects: list[dict], name: str) -> list[dict]:
    return [v for o in objects for v in o.get("vertexes", []) if v["name"] == name]


def test_concurrent_steps_are_vertices_of_their_own():
    stream = io.StringIO()
    reporter = RawJsonReporter(stream)
    first = reporter.step("[a 1/2]", "COPY x /x")
    first.done()
    start = threading.Barrier(2)

    def run(label: str, text: str, data: bytes) -> None:
        step = reporter.step(label, text)
        start.wait()
        for n in range(50):
            step.output(data + str(n).encode() + b"\n")
        step.done()

    threads = [
        threading.Thread(target=run, args=("[a 2/2]", "RUN make a", b"A")),
        threading.Thread(target=run, args=("[b 2/2]", "RUN make b", b"B")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    objects = _objects(stream.getvalue())  # every object whole: none was cut by another thread's
    a, b = _vertices(objects, "[a 2/2] RUN make a"), _vertices(objects, "[b 2/2] RUN make b")
    assert [sorted(v) for v in a] == [
        ["digest", "inputs", "name"],
        ["digest", "inputs", "name", "started"],
        ["completed", "digest", "inputs", "name", "started"],
    ]
    assert [sorted(v) for v in b] == [
        ["digest", "name"],
        ["digest", "name", "started"],
        ["completed", "digest", "name", "started"],
    ]
    assert a[0]["inputs"] == [_vertices(objects, "[a 1/2] COPY x /x")[0]["digest"]]  # the stage's previous step
    for vertices, letter in ((a, b"A"), (b, b"B")):
        logs = [log for o in objects for log in o.get("logs", []) if log["vertex"] == vertices[0]["digest"]]
        assert b"".join(base64.b64decode(log["data"]) for log in logs) == b"".join(
            letter + str(n).encode() + b"\n" for n in range(50)
        )


def test_outcomes_complete_the_vertex_as_buildkit_does():
    stream = io.StringIO()
    reporter = RawJsonReporter(stream)
    cached = reporter.step("[s 2/5]", "RUN cached")
    failed = reporter.step("[t 2/2]", "RUN exit 3")
    cancelled = reporter.step("[u 2/2]", "RUN sleep 60")
    closed = reporter.step("[s 3/5]", "ENV A=1")
    open_at_the_end = reporter.step("[s 4/5]", "RUN never ended")
    cached.reason("first build")  # BuildKit has no event for it
    cached.cached()
    failed.failed("RUN exited with code 3")
    cancelled.cancelled()
    closed.close()
    failed.done()  # ignored: the step has ended
    reporter.summary(1, 1, "sha256:" + "0" * 64, 1)
    objects = _objects(stream.getvalue())
    last = {v["name"]: v for o in objects for v in o.get("vertexes", [])}
    assert last["[s 2/5] RUN cached"]["cached"] is True
    assert last["[t 2/2] RUN exit 3"]["error"] == "RUN exited with code 3"
    assert last["[u 2/2] RUN sleep 60"]["error"] == "context canceled"
    assert {"completed", "started"} <= set(last["[s 3/5] ENV A=1"]) and "error" not in last["[s 3/5] ENV A=1"]
    assert "completed" in last["[s 4/5] RUN never ended"]  # the summary completes what is still open
    assert len(_vertices(objects, "[t 2/2] RUN exit 3")) == 3
    assert open_at_the_end.outcome == "closed"
    assert all(set(o) <= {"vertexes", "logs"} for o in objects)  # nothing but SolveStatus objects
