"""Where blobs are known to live: ``domain/repository`` names per blob digest, so a push to another
repository of the same registry can mount a blob instead of uploading it (as Docker's distribution metadata
does). Records live in the store's ``state/registry-sources/<hex>`` files, one name per line, newest first,
at most `MAX_SOURCES` names; they are hints — a stale one only costs a failed mount.
"""

from __future__ import annotations

import os
import tempfile

MAX_SOURCES = 8
_STATE = "registry-sources"


def _file(store, digest: str):
    return store.state_dir(_STATE) / digest.removeprefix("sha256:")


def known_sources(store, digest: str, domain: str) -> list[str]:
    """Repository paths on registry ``domain`` known to hold ``digest``, newest first."""
    try:
        lines = _file(store, digest).read_text().split()
    except FileNotFoundError:
        return []
    prefix = domain + "/"
    return [line[len(prefix) :] for line in lines if line.startswith(prefix)]


def remember(store, digest: str, domain: str, path: str) -> None:
    """Record that ``domain/path`` holds ``digest``."""
    target = _file(store, digest)
    name = f"{domain}/{path}"
    with store.lock(f"{_STATE}-{digest.removeprefix('sha256:')[:2]}"):
        try:
            lines = target.read_text().split()
        except FileNotFoundError:
            lines = []
        if lines[:1] == [name]:
            return
        lines = [name, *[line for line in lines if line != name]][:MAX_SOURCES]
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".src-")
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, target)
