"""WORKDIR: the working directory of later steps and of the container; BuildKit also creates it."""

from __future__ import annotations

import posixpath

from builder.instructions.state import ImageState


def resolve(current: str, path: str) -> str:
    """The ``WorkingDir`` BuildKit v0.13 records: an absolute ``path`` as written (``/tmp/`` keeps its
    slash), a relative one joined to ``current`` and cleaned (``sub/`` in ``/tmp/`` is ``/tmp/sub``)."""
    if path.startswith("/"):
        return path
    return clean(posixpath.join("/", current or "/", path))


def clean(path: str) -> str:
    """``path`` as the directory it names: absolute and cleaned (``//d/`` is ``/d``), the form steps use."""
    return "/" + posixpath.normpath("/" + path).lstrip("/")


def apply(state: ImageState, path: str) -> str:
    """Set ``WorkingDir``; the executor creates the directory (owned by the stage's USER) in a layer."""
    state.config["WorkingDir"] = resolve(state.config.get("WorkingDir") or "/", path)
    return f"WORKDIR {state.config['WorkingDir']}"
