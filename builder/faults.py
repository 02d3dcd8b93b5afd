"""Named crash points, for tests that kill pybuild at a chosen moment and check that nothing is lost.

``checkpoint("blob.before-rename")`` does nothing unless the environment variable ``PYBUILD_FAULT`` names
that point: ``PYBUILD_FAULT=NAME`` kills the process with SIGKILL the first time the point is reached,
``PYBUILD_FAULT=NAME:N`` the N-th time (1-based). SIGKILL, because it is the one death nothing can clean
up after: no ``finally``, no ``atexit``, no signal handler runs, just as on a power cut or an OOM kill.

The variable is read once, at import; when it is unset a checkpoint costs one function call and a
comparison. Child processes inherit the variable, so a point reached in a forked child kills that child.
`POINTS` lists every name used in pybuild, so a test can iterate over all of them and a typo in a test
fails loudly instead of never firing.
"""

from __future__ import annotations

import os
import signal

#: Every crash point in pybuild, with where it sits. Checkpoints must use one of these names.
POINTS: dict[str, str] = {
    "blob.written": "a blob's temp file is complete but not yet journaled or renamed",
    "blob.renamed": "a blob was journaled and renamed into place",
    "layer.staged": "an unpacked layer's staging dir is complete, not yet renamed to its diff_id",
    "layer.committed": "an unpacked layer was renamed into place",
    "layer.remove": "a removed layer was renamed out of place, not yet deleted",
    "record.written": "a record's temp file (tags, cache index, layer info) is written, not yet renamed",
    "tags.updated": "tags.json was replaced",
    "apply.entry": "a layer tar entry is being unpacked (fires once per entry)",
    "commit.blob": "a step's layer blob is stored, its layer info not yet recorded",
    "commit.recorded": "a step's layer info is recorded, its upperdir not yet moved into the store",
    "commit.done": "a step's layer is fully in the store (its cache record not yet written)",
    "image.config": "a new image's config blob is stored, its manifest not yet",
    "image.manifest": "a new image's manifest is stored, not yet tagged",
    "run.mounted": "a RUN's overlay is mounted, runc not yet started",
    "run.started": "a RUN's container is running",
    "run.exited": "a RUN's process exited, its container not yet deleted",
    "overlay.mounted": "a COPY/ADD overlay is mounted",
    "export.partial": "an archive export has written part of its temp file",
    "export.flatten": "a local or tar export is flattening layers",
    "load.blob": "pybuild load copied a blob from the archive",
    "gc.sweep": "garbage collection removed something and continues",
}

_ENV = "PYBUILD_FAULT"


def _parse(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, nth = value.partition(":")
    try:
        count = int(nth) if nth else 1
    except ValueError:
        count = 1
    return name, max(count, 1)


_armed = _parse(os.environ.get(_ENV))
_hits = 0


def checkpoint(name: str) -> None:
    """Kill this process with SIGKILL here if ``PYBUILD_FAULT`` names ``name`` (see the module docstring)."""
    global _hits
    if _armed is None or _armed[0] != name:
        return
    _hits += 1
    if _hits >= _armed[1]:
        os.kill(os.getpid(), signal.SIGKILL)
