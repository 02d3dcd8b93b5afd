"""The error raised for a layer that cannot be written or applied."""

from __future__ import annotations

from builder.errors import BuildError


class LayerError(BuildError):
    """A layer tar is malformed or unsafe (an entry would land outside the target), or a tree cannot be
    turned into a layer. The target directory of a failed apply is left half-written: the caller unpacks into
    a staging directory and discards it."""
