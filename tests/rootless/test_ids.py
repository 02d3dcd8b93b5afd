"""Reading /etc/subuid-style files and the id maps made from them (pure, no user needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.rootless.ids import IdRange, id_map, map_size, subordinate_ranges


def test_ranges_by_name_or_uid_in_file_order(tmp_path: Path):
    table = tmp_path / "subuid"
    lines = ["alice:100000:65536", "# note", "bob:165536:65536", "1000:300000:10", "alice:bad:1", "alice:5:0"]
    table.write_text("\n".join([*lines, "", "alice:1:2:3", ""]))
    assert subordinate_ranges("alice", 1000, table) == [IdRange(100000, 65536), IdRange(300000, 10)]
    assert subordinate_ranges("bob", 1001, table) == [IdRange(165536, 65536)]
    assert subordinate_ranges("carol", 1002, table) == []
    assert subordinate_ranges("alice", 1000, tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("own", "ranges", "expected"),
    [
        (1000, [], [(0, 1000, 1)]),
        (1000, [IdRange(100000, 65536)], [(0, 1000, 1), (1, 100000, 65536)]),
        (1000, [IdRange(100000, 10), IdRange(200000, 5)], [(0, 1000, 1), (1, 100000, 10), (11, 200000, 5)]),
        # the user's own id inside a range is cut out: the kernel refuses overlapping outside ids
        (100005, [IdRange(100000, 10)], [(0, 100005, 1), (1, 100000, 5), (6, 100006, 4)]),
    ],
)
def test_id_map(own, ranges, expected):
    assert id_map(own, ranges) == expected
    assert map_size(expected) == 1 + sum(r.count for r in ranges) - any(
        r.start <= own < r.start + r.count for r in ranges
    )
