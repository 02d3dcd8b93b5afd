"""``--progress=rawjson``: stderr is a sequence of BuildKit SolveStatus objects, written as buildx writes
them (Go's ``json.MarshalIndent`` with two-space indents, ``<``/``>``/``&`` escaped), and nothing else.
The shapes below are those buildx 0.13 printed for a RUN step on BuildKit v0.13."""

from __future__ import annotations

import base64
import json

from tests.build.conftest import write_context

BUILDFILE = 'FROM busybox:latest\nRUN echo hello; echo "a<b&c"\nCOPY note.txt /note.txt\n'


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


def test_rawjson_events(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", BUILDFILE, {"note.txt": "n\n"})
    result = pybuild("--progress=rawjson", str(context))
    assert result.err.startswith('{\n  "vertexes": [\n    {\n      "digest": "sha256:')
    assert "\\u003cb\\u0026c" in result.err  # Go's HTML escaping of < and &
    objects = _objects(result.err)  # raises if anything but JSON objects is on stderr
    assert all(set(o) <= {"vertexes", "statuses", "logs", "warnings"} and o for o in objects)
    run_vertices = [
        v for o in objects for v in o.get("vertexes", []) if 'RUN echo hello; echo "a<b&c"' in v["name"]
    ]
    assert [sorted(v) for v in run_vertices] == [
        ["digest", "name"],
        ["digest", "name", "started"],
        ["completed", "digest", "name", "started"],
    ]
    digest = run_vertices[0]["digest"]
    logs = [log for o in objects for log in o.get("logs", []) if log["vertex"] == digest]
    assert b"".join(base64.b64decode(log["data"]) for log in logs) == b"hello\na<b&c\n"
    assert all(log["stream"] == 1 and log["timestamp"].endswith("Z") for log in logs)
    copy = [v for o in objects for v in o.get("vertexes", []) if v["name"].endswith("COPY note.txt /note.txt")]
    assert copy[0]["inputs"] == [digest]

    again = _objects(pybuild("--progress=rawjson", str(context)).err)
    finished = [v for o in again for v in o.get("vertexes", []) if v.get("completed") and "RUN" in v["name"]]
    assert finished[0]["cached"] is True and finished[0]["digest"] == digest


def test_a_failed_step_completes_with_its_error(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo before; exit 3\n")
    result = pybuild("--progress=rawjson", str(context), check=False)
    assert result.returncode == 1
    json_part, _, message = result.err.rpartition("}\n")
    failed = [v for o in _objects(json_part + "}") for v in o.get("vertexes", []) if "error" in v]
    assert [v["error"] for v in failed] == ["RUN exited with code 3"]
    assert "completed" in failed[0]
    assert "error: RUN exited with code 3" in message  # then the error as the CLI prints it, as buildx does
