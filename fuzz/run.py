"""``python3 fuzz/run.py [--cases N] [--target NAME]``: fuzz the parser, the build checks, the expander,
layer apply, ignore patterns and the image documents (``document-manifest``, ``document-index``,
``document-config``, ``document-docker-archive``).

Each target gets N generated cases (default 10,000; see `fuzz.targets` for what a case is and what it must
do). Every finding — an exception other than the located user error the code promises, or a check that
fails — is recorded with its input, and the run goes on. Prints one line per target with its counts, then
the distinct findings; exits 1 if there is any. Layer apply writes into a scratch directory and needs root
for device nodes and ownership, as pybuild itself does.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from fuzz import documents, ignore, targets  # noqa: E402

TARGETS = ("parser", "checks", "expander", "layer", "ignore", *documents.TARGETS)


@dataclass
class Report:
    """What one target's run found: cases run, and findings keyed by their kind (first input kept)."""

    target: str
    cases: int = 0
    seconds: float = 0.0
    findings: dict[str, str] = field(default_factory=dict)
    count: int = 0


def run_target(name: str, cases: int, *, derandomize: bool = False) -> Report:
    """Run ``cases`` generated inputs through target ``name``; never raises for a finding. With
    ``derandomize`` the cases are the same on every run (for tests); by default each run draws new ones."""
    report = Report(name)
    sandbox = targets.LayerSandbox() if name == "layer" else None
    if name.startswith("document-"):
        strategy, check = documents.document_cases(name.removeprefix("document-")), documents.check_document
    else:
        strategy, check = {
            "parser": (targets.buildfiles(), targets.check_parser),
            "checks": (targets.buildfiles(), targets.check_build_checks),
            "expander": (targets.expand_cases(), targets.check_expander),
            "layer": (targets.layer_cases(), sandbox.check if sandbox else None),
            "ignore": (ignore.ignore_cases(), ignore.check_ignore),
        }[name]

    @settings(
        max_examples=cases,
        database=None,
        deadline=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
        phases=("generate",),  # no shrinking: a finding is recorded, not raised
    )
    @given(strategy)
    def case(data) -> None:
        report.cases += 1
        try:
            problem = check(data)
        except Exception as error:  # anything escaping a check is a finding by definition
            where = traceback.extract_tb(error.__traceback__)[-1]
            problem = f"{type(error).__name__} at {Path(where.filename).name}:{where.lineno}: {error}"[:300]
        if problem is not None:
            report.count += 1
            kind = problem.split(":")[0] if " at " in problem else problem[:80]
            report.findings.setdefault(kind, f"{problem}\n    input: {data!r}"[:1500])

    started = time.monotonic()
    try:
        case()
    finally:
        if sandbox is not None:
            sandbox.close()
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases per target (default 10000)")
    parser.add_argument("--target", choices=TARGETS, action="append", help="only this target (repeatable)")
    args = parser.parse_args(argv)
    reports = [run_target(name, args.cases) for name in args.target or TARGETS]
    for report in reports:
        print(f"{report.target}: {report.cases} cases, {report.count} findings ({report.seconds:.1f}s)")
    for report in reports:
        for finding in report.findings.values():
            print(f"\n[{report.target}] {finding}")
    return 1 if any(report.count for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
