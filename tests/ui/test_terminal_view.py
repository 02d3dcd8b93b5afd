"""The terminal view of `builder.ui.Reporter`: running steps with live timers below the lines, redrawn in place
by a background thread, the bars of long work, and only the final lines left when the steps end. The stream is
a fake terminal; an independent VT100 emulator (pyte) shows what a person would see on it."""

from __future__ import annotations

import io
import re
import threading
import time

import pyte

from builder.ui import Reporter

TIMER_LINE = re.compile(r"^(#\d+ \[.*?\] .*?) +(\d+\.\d)s$")


class FakeTty(io.StringIO):
    """A stream that says it is a terminal (80x24: it has no file descriptor to ask)."""

    def isatty(self) -> bool:
        return True


def screen(text: str, lines: int = 24) -> list[str]:
    """The 80-column screen after ``text`` was written to a terminal (whose driver turns ``\\n`` into CR LF),
    trailing blank lines left out."""
    shown = pyte.Screen(80, lines)
    pyte.Stream(shown).feed(text.replace("\n", "\r\n"))
    rows = [row.rstrip() for row in shown.display]
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _reporter(monkeypatch) -> tuple[Reporter, FakeTty]:
    monkeypatch.setenv("NO_COLOR", "1")
    _wait_for(lambda: not _view_threads())  # an earlier test's view has stopped redrawing
    stream = FakeTty()
    return Reporter("auto", stream, refresh=0.05), stream


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _timers(rows: list[str]) -> dict[str, float]:
    return {m[1]: float(m[2]) for row in rows if (m := TIMER_LINE.match(row))}


def _view_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "progress-view"]


def test_running_steps_show_with_live_timers_and_leave_their_final_lines(monkeypatch):
    reporter, stream = _reporter(monkeypatch)
    assert reporter.mode == "tty"
    first = reporter.step("[a 2/2]", "RUN sleep 2")
    second = reporter.step("[b 2/2]", "RUN sleep 1")
    first.output(b"compiling\n")
    _wait_for(lambda: all(t >= 0.2 for t in _timers(screen(stream.getvalue())).values()))
    early = screen(stream.getvalue())
    assert early[:4] == ["#1 [a 2/2] RUN sleep 2", "", "#2 [b 2/2] RUN sleep 1", early[3]]
    assert re.fullmatch(r"#1 +\d+\.\d\ds compiling", early[3])
    assert re.fullmatch(r"\[\+\] Building \d+\.\ds \(0/2\)", early[4])
    assert set(_timers(early)) == {"#1 [a 2/2] RUN sleep 2", "#2 [b 2/2] RUN sleep 1"}
    assert all(len(row) == 79 for row in early[5:7])  # the timers right-aligned, one column short of the edge

    # nothing happens in the build, yet the timers move: the view is redrawn in place by its own thread
    before = _timers(early)["#1 [a 2/2] RUN sleep 2"]
    _wait_for(lambda: _timers(screen(stream.getvalue())).get("#1 [a 2/2] RUN sleep 2", 0) >= before + 0.2)
    assert stream.getvalue().count("[+] Building") > 3  # drawn many times …
    assert sum(row.startswith("[+] Building") for row in screen(stream.getvalue())) == 1  # … in one place

    second.done()
    middle = screen(stream.getvalue())
    assert set(_timers(middle)) == {"#1 [a 2/2] RUN sleep 2"} and re.search(r"\(1/2\)", middle[-2])
    first.done()
    final = screen(stream.getvalue())
    assert final[:4] == early[:4]
    assert [re.sub(r"\d+\.\ds", "T", row) for row in final[4:]] == ["#2 DONE T", "#1 DONE T"]
    _wait_for(lambda: not _view_threads())  # nothing is live: the thread that redraws has ended


def test_a_bar_shows_in_the_view_while_its_work_runs(monkeypatch):
    reporter, stream = _reporter(monkeypatch)
    step = reporter.step("[stage-0 2/2]", "RUN make")
    with step.progress("committing layer", total=200) as advance:
        advance(100)
        _wait_for(lambda: any("committing layer:  50%|" in row for row in screen(stream.getvalue())))
        rows = screen(stream.getvalue())
        bar = next(row for row in rows if row.startswith("committing layer"))
        assert re.search(r"\| 100/200 \[", bar) and len(bar) <= 79  # tqdm's own bar, fitted to the terminal
    assert not any(row.startswith("committing layer") for row in screen(stream.getvalue()))
    step.done()


def test_a_bar_of_no_step_shows_at_once_however_short_the_work(monkeypatch):
    reporter, stream = _reporter(monkeypatch)
    with reporter.progress("exporting oci") as advance:
        advance(10)
    assert "exporting oci: " in stream.getvalue()
    assert screen(stream.getvalue()) == []  # and is gone when the work is done


def test_long_names_and_many_steps_fit_the_terminal(monkeypatch):
    reporter, stream = _reporter(monkeypatch)
    steps = [reporter.step(f"[stage-{n} 2/2]", "RUN " + "x" * 150) for n in range(40)]
    steps[0].output("é\n".encode() * 3)
    _wait_for(lambda: stream.getvalue().count("[+] Building") > 2)
    view = screen(stream.getvalue(), lines=200)[-22:]
    assert view[0].startswith("[+] Building") and view[-1] == "... and 20 more"
    assert all(len(row) <= 79 for row in view)
    assert re.fullmatch(r"#1 \[stage-0 2/2\] RUN x+\.\.\. +\d+\.\ds", view[1])
    for step in steps:
        step.done()
    rows = screen(stream.getvalue(), lines=400)
    assert not any(row.startswith(("[+] Building", "... and")) for row in rows)  # no trace of the view left
    assert sum(row.startswith("#") and " DONE " in row for row in rows) == 40


def test_close_erases_the_view_and_stops_its_thread(monkeypatch):
    reporter, stream = _reporter(monkeypatch)
    step = reporter.step("[stage-0 2/2]", "RUN sleep 60")
    _wait_for(lambda: bool(_view_threads()))
    reporter.close()
    assert not _view_threads()
    assert step.outcome == "closed"
    assert screen(stream.getvalue()) == ["#1 [stage-0 2/2] RUN sleep 60"]
    written = stream.getvalue()
    time.sleep(0.2)
    assert stream.getvalue() == written  # nothing redraws after the build is over


def test_lines_are_coloured_in_a_colour_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    stream = FakeTty()
    reporter = Reporter("auto", stream, refresh=0.05)
    step = reporter.step("[stage-0 2/2]", "RUN true")
    step.cached()
    reporter.info("warning: something")
    assert "\x1b[34m#1 [stage-0 2/2] RUN true\x1b[0m\n" in stream.getvalue()
    assert "\x1b[36m#1 CACHED\x1b[0m\n" in stream.getvalue()
    assert "\x1b[33mwarning: something\x1b[0m\n" in stream.getvalue()


def test_transfers_draw_bars_in_the_view_and_leave_their_last_state(monkeypatch):
    reporter, stream = _reporter(monkeypatch)
    step = reporter.step("[stage-1 2/2]", "COPY --from=alpine /x /x")
    transfers = reporter.transfers()
    task = transfers.task("sha256:" + "ab" * 32, 4096, "downloading")
    task.update(4096)
    task.update(-4096)  # a broken transfer starts over
    task.update(2048)
    _wait_for(lambda: any(row.startswith("abababababab:  50%|") for row in screen(stream.getvalue())))
    task.done("pull complete")
    transfers.note("sha256:" + "cd" * 32, "already exists")
    step.done()
    rows = screen(stream.getvalue())
    assert not any(row.startswith("[+] Building") for row in rows)
    kept = [row for row in rows if row.startswith("abababababab")]
    assert len(kept) == 1 and re.search(r"2\.00k/4\.00k .*pull complete\]$", kept[0]), kept
    assert "cdcdcdcdcdcd: already exists" in rows
