"""Plain progress (`builder.ui.Reporter` in ``plain`` mode) for steps that run concurrently: one line per
event, each prefixed with its step's ``#N``, whole lines however the output is split and interleaved."""

from __future__ import annotations

import io
import random
import re
import threading
import time

from builder.ui import Reporter

OUTPUT_LINE = re.compile(r"^#(\d+) +\d+\.\d\ds (.*)$")


def _reporter(mode: str = "plain") -> tuple[Reporter, io.StringIO]:
    stream = io.StringIO()
    return Reporter(mode, stream), stream


def test_a_sequential_build_reads_as_numbered_blocks():
    reporter, stream = _reporter()
    reporter.info("warning: a check found something")
    run = reporter.step("[stage-0 2/4]", "RUN echo hi")
    run.reason("first build")
    run.output(b"hi\n")
    run.done()
    env = reporter.step("[stage-0 3/4]", "ENV A=1")
    env.close()
    copy = reporter.step("[stage-0 4/4]", "COPY a /a")
    copy.cached()
    reporter.summary(1, 1, "sha256:" + "ab" * 32, 2048)
    lines = stream.getvalue().splitlines()
    expected = [
        "warning: a check found something",
        "",
        "#1 [stage-0 2/4] RUN echo hi",
        "#1 running: first build",
        "#1 OUTPUT hi",
        "#1 DONE",
        "",
        "#2 [stage-0 3/4] ENV A=1",
        "",
        "#3 [stage-0 4/4] COPY a /a",
        "#3 CACHED",
        "",
        "built abababababab in",
    ]
    assert len(lines) == len(expected), lines
    for line, want in zip(lines, expected, strict=True):
        if want == "#1 OUTPUT hi":
            assert re.fullmatch(r"#1 +\d+\.\d\ds hi", line), line
        elif want == "#1 DONE":
            assert re.fullmatch(r"#1 DONE \d+\.\ds", line), line  # BuildKit's one decimal
        elif want.startswith("built"):
            assert re.fullmatch(r"built abababababab in \d+\.\ds: 1 steps ran, 1 cached, 2.05kB", line), line
        else:
            assert line == want


def test_interleaved_output_of_two_threads_keeps_lines_whole_and_numbered():
    reporter, stream = _reporter()
    steps = {name: reporter.step(f"[{name} 2/2]", f"RUN make {name}") for name in ("a", "b")}
    start = threading.Barrier(2)

    def produce(name: str) -> None:
        data = b"".join(f"{name}-{n:04d} {'x' * (n % 37)}\n".encode() for n in range(400))
        rng = random.Random(name)
        start.wait()
        while data:  # chunks split anywhere, lines included, as a pipe delivers them
            size = rng.randint(1, 90)
            steps[name].output(data[:size])
            data = data[size:]
            time.sleep(0)  # let the other thread in between chunks
        steps[name].done()

    threads = [threading.Thread(target=produce, args=(name,)) for name in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    seen: dict[str, list[str]] = {"a": [], "b": []}
    order = ""
    for line in stream.getvalue().splitlines():
        match = OUTPUT_LINE.match(line)
        if match:
            text = match[2]
            name = text[0]
            assert int(match[1]) == steps[name].number, line  # the right number on every line
            seen[name].append(text)
            order += name
        else:
            assert line == "" or re.fullmatch(r"#[12] (\[[ab] 2/2\] RUN make [ab]|DONE \d+\.\ds)", line), line
    for name in steps:
        assert seen[name] == [f"{name}-{n:04d} {'x' * (n % 37)}" for n in range(400)]
    assert order.count("ab") + order.count("ba") > 10  # the two steps' lines did interleave


def test_steps_are_numbered_in_the_order_they_begin_from_any_thread():
    reporter, stream = _reporter()
    handles = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def begin(index: int) -> None:
        start.wait()
        for n in range(25):
            handle = reporter.step(f"[s{index} {n}/25]", "RUN true")
            with lock:
                handles.append(handle)
            handle.done()

    threads = [threading.Thread(target=begin, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(h.number for h in handles) == list(range(1, 201))
    headers = [int(m[1]) for m in re.finditer(r"^#(\d+) \[", stream.getvalue(), re.M)]
    assert headers == list(range(1, 201))  # announced in the order of their numbers


def test_outcome_lines_and_partial_output():
    reporter, stream = _reporter()
    failed = reporter.step("[stage-0 2/2]", "RUN exit 3")
    failed.output(b"last words without a newline")
    failed.failed("RUN exited with code 3")
    cancelled = reporter.step("[other 2/2]", "RUN sleep 60")
    cancelled.cancelled()
    text = stream.getvalue()
    partial_then_error = r"^#1 +\d+\.\d\ds last words without a newline\n#1 ERROR: RUN exited with code 3$"
    assert re.search(partial_then_error, text, re.M)
    assert re.search(r"^#2 CANCELED$", text, re.M)


def test_a_step_ends_once_and_ignores_what_comes_after():
    reporter, stream = _reporter()
    step = reporter.step("[stage-0 2/2]", "RUN true")
    step.cached()
    before = stream.getvalue()
    step.done()
    step.failed("late")
    step.output(b"late output\n")
    step.reason("late")
    step.close()
    assert stream.getvalue() == before
    assert step.outcome == "cached"


def test_lines_of_a_step_after_lines_of_none_repeat_its_header():
    reporter, stream = _reporter()
    step = reporter.step("[stage-0 2/2]", "RUN make")
    reporter.info("warning: cache record dropped")
    step.output(b"more\n")
    lines = stream.getvalue().splitlines()
    assert lines[:4] == ["#1 [stage-0 2/2] RUN make", "", "warning: cache record dropped", ""]
    assert lines[4] == "#1 [stage-0 2/2] RUN make" and OUTPUT_LINE.match(lines[5])


def test_close_ends_running_steps_silently():
    reporter, stream = _reporter()
    step = reporter.step("[stage-0 2/2]", "RUN make")
    step.output(b"half a line")
    reporter.close()
    reporter.close()
    assert step.outcome == "closed"
    assert stream.getvalue().splitlines()[-1].endswith("half a line")  # kept output is not lost


def test_quiet_prints_nothing():
    reporter, stream = _reporter("quiet")
    step = reporter.step("[stage-0 2/2]", "RUN make")
    step.reason("first build")
    step.output(b"x\n")
    with step.progress("committing layer", total=10) as advance:
        advance(10)
    step.done()
    reporter.info("warning: x")
    reporter.summary(1, 0, "sha256:" + "0" * 64, 1)
    reporter.close()
    assert stream.getvalue() == "" and step.number == 1


def test_tty_asked_of_a_stream_that_is_no_terminal_writes_no_escape_sequences():
    reporter, stream = _reporter("tty")
    step = reporter.step("[stage-0 2/2]", "RUN make")
    with step.progress("committing layer", total=100) as advance:
        advance(50)
    step.done()
    reporter.close()
    assert reporter.mode == "tty"
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()
    assert stream.getvalue().startswith("#1 [stage-0 2/2] RUN make\n")
    assert [t.name for t in threading.enumerate() if t.name == "progress-view"] == []


def test_transfers_are_lines_in_plain_mode_and_nothing_when_quiet():
    reporter, stream = _reporter()
    transfers = reporter.transfers()
    task = transfers.task("sha256:" + "ab" * 32, 2_000_000, "downloading")
    task.update(2_000_000)
    task.done("pull complete")
    transfers.note("sha256:" + "cd" * 32, "already exists")
    assert stream.getvalue().splitlines() == [
        "abababababab: downloading (2MB)",
        "abababababab: pull complete",
        "cdcdcdcdcdcd: already exists",
    ]
    quiet, silent = _reporter("quiet")
    task = quiet.transfers().task("sha256:" + "ab" * 32, 10, "downloading")
    task.update(10)
    task.done()
    assert silent.getvalue() == ""


def test_output_that_never_ends_a_line_is_printed_in_parts():
    reporter, stream = _reporter()
    step = reporter.step("[stage-0 2/2]", "RUN yes | tr -d '\\n'")
    for _ in range(40):
        step.output(b"y" * 4096)
    parts = [m[2] for m in map(OUTPUT_LINE.match, stream.getvalue().splitlines()) if m]
    assert parts and all(set(part) == {"y"} and len(part) <= 70 * 1024 for part in parts)
    step.done()
    parts = [m[2] for m in map(OUTPUT_LINE.match, stream.getvalue().splitlines()) if m]
    assert sum(len(part) for part in parts) == 40 * 4096
