"""The ``ignore`` fuzz target: hostile ``.dockerignore`` patterns over long, deep paths, with a time bound.

A case is a few patterns built from the pieces that make backtracking matchers explode (``**/``, ``*``,
``?``, classes, escapes, ``!``) and a path of many short segments that keep almost matching. The check:
`IgnoreRules` is built or refuses the patterns with `IgnoreFileError`; deciding the path and each of its
parents (as a walk does) finishes within `TIME_BOUND` seconds; and where both engines can run (few stars, a
short path), Python's ``re`` on the translated regex and RE2 on patternmatcher's Go text agree.
"""

from __future__ import annotations

import re
import signal
import time
from dataclasses import dataclass

from hypothesis import strategies as st

#: Seconds one case may take. Linear matching needs milliseconds; a backtracking matcher took minutes.
TIME_BOUND = 2.0

_PIECES = [
    "**",
    "**/",
    "*",
    "?",
    "a",
    "b",
    "d",
    "/",
    "[ab]",
    "[^a]",
    "[a-",
    "\\*",
    "\\",
    "[",
    "]",
    ".",
    "!",
    "x*a",
]
_SEGMENTS = ["a", "b", "d", "aa", "ab", "a.b", "x", "ba", "é", "a\udcff"]


@dataclass(frozen=True)
class IgnoreCase:
    patterns: tuple[str, ...]
    path: str


def ignore_cases() -> st.SearchStrategy[IgnoreCase]:
    pattern = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=24).map("".join)
    segment = st.one_of(st.sampled_from(_SEGMENTS), st.sampled_from(["a", "ab"]).map(lambda s: s * 60))
    path = st.lists(segment, min_size=1, max_size=60).map("/".join)
    return st.builds(IgnoreCase, patterns=st.lists(pattern, min_size=1, max_size=4).map(tuple), path=path)


class _TooSlow(Exception):
    pass


def _alarm(signum, frame) -> None:
    raise _TooSlow


def check_ignore(case: IgnoreCase) -> str | None:
    """None if the case behaves (see the module docstring), else the finding. A case still matching after
    `TIME_BOUND` seconds is interrupted (SIGALRM; Python's ``re`` checks for signals while it matches)."""
    from builder.context import IgnoreFileError, IgnoreRules

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_BOUND)
    started = time.monotonic()
    try:
        try:
            rules = IgnoreRules(case.patterns)
        except IgnoreFileError as error:
            return None if error.message else "IgnoreFileError without a message"
        excluded = rules.excludes(case.path)
        parts = case.path.split("/")
        info = None
        for depth in range(1, len(parts) + 1):
            _, info = rules.match_with_parent("/".join(parts[:depth]), info)
    except _TooSlow:
        return f"slow: over {TIME_BOUND} s for a path of {len(case.path)} characters"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if time.monotonic() - started > TIME_BOUND:
        return f"slow: over {TIME_BOUND} s for a path of {len(case.path)} characters"
    if not isinstance(excluded, bool):
        return f"excludes returned {excluded!r}"
    return _engines_disagree(case)


def _engines_disagree(case: IgnoreCase) -> str | None:
    """Where Python's backtracking ``re`` is safe to run (at most three stars, a short path), it must give
    RE2's answer: the two engines decide different patterns, and must not differ in what they mean."""
    from builder.context.gopattern import REGEXP, PatternSyntaxError, go_regexp_source, go_regexp_to_python
    from builder.linearre import LinearRegex

    if len(case.path) > 40:
        return None
    for raw in case.patterns:
        pattern = raw.lstrip("!")
        if pattern.count("*") > 3:
            continue
        kind, source = go_regexp_source(pattern)
        if kind != REGEXP:
            continue
        try:
            python = re.compile(go_regexp_to_python(source), re.ASCII)
        except (PatternSyntaxError, re.error):
            continue  # refused as a whole by IgnoreRules too
        if bool(python.search(case.path)) != bool(LinearRegex(source).search(case.path)):
            return f"re and RE2 disagree on {pattern!r}"
    return None
