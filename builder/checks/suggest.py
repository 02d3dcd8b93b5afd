"""The "did you mean" of a finding: the closest name within two edits, as BuildKit's suggestions pick it."""

from __future__ import annotations

from collections.abc import Iterable


def distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, each costing one."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def closest(name: str, options: Iterable[str]) -> str:
    """The first option nearest to ``name`` at a distance below 3, or "" (also when ``name`` is an option)."""
    best, best_distance = "", 3
    for option in options:
        if option == name:
            return ""
        d = distance(name, option)
        if d < best_distance:
            best, best_distance = option, d
    return best
