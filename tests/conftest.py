"""Suite-wide pytest hooks."""

from __future__ import annotations

from tests.support import counts


def pytest_terminal_summary(terminalreporter) -> None:
    """Show the counts robustness tests recorded (`tests.support.counts`), e.g. crash trials and failures."""
    if counts.LINES:
        terminalreporter.section("robustness counts")
        for line in counts.LINES:
            terminalreporter.write_line(line)
