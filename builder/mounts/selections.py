"""Content digests of paths in stacks of layers, known without reading the layers again.

A ``RUN --mount … from=STAGE`` step is keyed by the content of its ``source`` in the stage (see `step`). That
content is a function of the stage's layers — named by their ChainID — and the path, so once a digest is
known for the pair ``"CHAINID PATH"`` it holds for good: a cached build does not read (or, for layers a
``--cache-from`` hit left remote, fetch) a stage to key a step on it.

Known pairs come from two places: this store (``state/selections``, one small file per pair, written by a
rename; a lost or damaged file only costs a new reading) and the records of imported caches, which carry
the pairs their steps' keys took (trusted as those records are: see SECURITY.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|missing)$")


class Selections:
    """The known pairs; ``directory`` None keeps nothing between builds."""

    def __init__(self, directory: Path | None, imported: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self.imported = imported if imported is not None else {}

    def _file(self, name: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:40]

    def get(self, name: str) -> str | None:
        """The digest known for ``name`` (``"CHAINID PATH"``), else None."""
        path = self._file(name)
        if path is not None:
            try:
                text = path.read_text().strip()
            except (OSError, UnicodeDecodeError):
                text = ""
            if _DIGEST.match(text):
                return text
        known = self.imported.get(name)
        return known if isinstance(known, str) and _DIGEST.match(known) else None

    def put(self, name: str, digest: str) -> None:
        """Remember ``digest`` for ``name`` in the store (best effort: a failure only forgets it)."""
        path = self._file(name)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".new-")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w") as out:
                out.write(digest)
            os.replace(scratch, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(scratch)
