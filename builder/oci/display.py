"""How the image commands show things: Docker's human sizes and ages, aligned tables, layer sizes.

Sizes are decimal (``4.26MB``) with three significant digits, ages are ``2 hours ago``, as ``docker images``
prints them. A layer's size is the size of its unpacked content (regular files, each hard-linked inode once),
what ``docker history`` shows; it falls back to the blob size when the layer is not unpacked in the store.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from datetime import UTC, datetime

from builder.oci.config import parse_time
from builder.units import human_size  # noqa: F401  (re-exported for the image commands)


def human_duration(seconds: float) -> str:
    """Docker's rough duration: ``Less than a second``, ``About a minute``, ``3 hours``, ``2 weeks``…"""
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = round(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def human_age(created: str | None, now: datetime | None = None) -> str:
    """``2 hours ago`` for an RFC 3339 time; ``N/A`` when it is missing or unparsable."""
    moment = parse_time(created or "")
    if moment is None:
        return "N/A"
    now = now or datetime.now(UTC)
    return human_duration(max((now - moment).total_seconds(), 0)) + " ago"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell plus three spaces, as Docker's tabwriter prints them."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width + 3) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append(("".join(cells) + str(row[-1])).rstrip())
    return "\n".join(lines)


def tree_size(root: str | os.PathLike) -> int:
    """Bytes of regular-file content under ``root``, each hard-linked inode counted once."""
    total = 0
    seen: set[tuple[int, int]] = set()
    stack = [os.fspath(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    stack.append(entry.path)
                elif stat.S_ISREG(info.st_mode):
                    if info.st_nlink > 1:
                        key = (info.st_dev, info.st_ino)
                        if key in seen:
                            continue
                        seen.add(key)
                    total += info.st_size
    return total


class LayerSizes:
    """Memoised unpacked sizes of the store's layers (one listing walks each shared layer once)."""

    def __init__(self, store) -> None:
        self._store = store
        self._sizes: dict[str, int] = {}

    def size(self, diff_id: str, blob_size: int = 0) -> int:
        if diff_id not in self._sizes:
            if self._store.has_layer(diff_id):
                self._sizes[diff_id] = tree_size(self._store.layer_path(diff_id))
            else:
                self._sizes[diff_id] = blob_size
        return self._sizes[diff_id]

    def image_size(self, image) -> int:
        """The unpacked size of all of an image's layers."""
        return sum(
            self.size(diff_id, layer["size"])
            for diff_id, layer in zip(image.diff_ids, image.layers, strict=True)
        )
