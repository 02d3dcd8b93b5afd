"""Subordinate id ranges (``/etc/subuid``, ``/etc/subgid``) and the id maps built from them.

A line of those files is ``OWNER:START:COUNT``, where OWNER is a user name or a numeric uid (shadow's
``newuidmap`` accepts both, so both count here). Blank lines, comments and malformed lines are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUBUID_FILE = Path("/etc/subuid")
SUBGID_FILE = Path("/etc/subgid")

#: newuidmap and the kernel accept at most this many lines in a map.
_MAX_MAP_LINES = 340


@dataclass(frozen=True)
class IdRange:
    """``count`` host ids from ``start`` on."""

    start: int
    count: int

    def __str__(self) -> str:
        return f"{self.start}-{self.start + self.count - 1}"


def subordinate_ranges(owner_name: str, owner_id: int, path: Path) -> list[IdRange]:
    """The ranges ``path`` (an /etc/subuid-style file) grants to the user named ``owner_name`` or numbered
    ``owner_id``, in file order; empty if the file is missing or names none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    ranges = []
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) != 3 or fields[0] not in (owner_name, str(owner_id)):
            continue
        try:
            start, count = int(fields[1]), int(fields[2])
        except ValueError:
            continue
        if start >= 0 and count > 0:
            ranges.append(IdRange(start, count))
    return ranges


def id_map(own_id: int, ranges: list[IdRange]) -> list[tuple[int, int, int]]:
    """``(inside, outside, count)`` lines: container id 0 is ``own_id``, 1.. are the ranges in order.

    With no ranges the map is the single line ``0 own_id 1`` (the single-id mode). Ranges that hold
    ``own_id`` itself are cut around it (the kernel refuses overlapping outside ids).
    """
    lines = [(0, own_id, 1)]
    inside = 1
    for r in ranges:
        pieces = [r]
        if r.start <= own_id < r.start + r.count:
            pieces = [IdRange(r.start, own_id - r.start), IdRange(own_id + 1, r.start + r.count - own_id - 1)]
        for piece in pieces:
            if piece.count > 0 and len(lines) < _MAX_MAP_LINES:
                lines.append((inside, piece.start, piece.count))
                inside += piece.count
    return lines


def map_size(lines: list[tuple[int, int, int]]) -> int:
    """How many container ids a map gives (0 .. size-1)."""
    return sum(count for _inside, _outside, count in lines)
