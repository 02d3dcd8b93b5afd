"""What fetching a remote ADD source yields, shared by the fetchers (`git`, `http`) and `builder.fsops.add`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from builder.fsops.copy import Placement


@dataclass
class Fetched:
    """A remote source on local disk: ``files`` for the cache key, ``place`` writes it into the image.

    ``place(root, target, as_dir, placement)`` copies the fetched content to ``target`` inside ``root`` (a
    directory when ``as_dir``); the staging directory it reads from belongs to the caller of the fetch."""

    files: dict[str, str]
    place: Callable[[Path, str, bool, Placement], None]
