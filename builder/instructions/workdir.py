"""WORKDIR: the working directory of later steps and of the container; BuildKit also creates it."""

from __future__ import annotations

import posixpath

from builder.instructions.state import ImageState


def resolve(current: str, path: str) -> str:
    """The new working directory: ``path`` if absolute, else joined to ``current``; cleaned."""
    joined = path if path.startswith("/") else posixpath.join(current or "/", path)
    cleaned = posixpath.normpath(joined)
    return "/" if cleaned in (".", "//") else cleaned


def apply(state: ImageState, path: str) -> str:
    """Set ``WorkingDir``; the executor creates the directory (owned by the stage's USER) in a layer."""
    state.config["WorkingDir"] = resolve(state.workdir, path)
    return f"WORKDIR {state.config['WorkingDir']}"
