"""Writing a layer while its upperdir is being filled: a copy that knows what it writes streams the layer's
tar as it goes (`layer_stream`), hashed for its diff_id, so the commit need not read the directory again
(`StreamedLayer`, handed to `builder.solver.commit.commit_upperdir`). Also `CountingWriter`, a write-through
byte counter for bars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from builder.layer.diff import LayerInfo, LayerStream


class CountingWriter:
    """A write-through wrapper that reports how many bytes passed (for a progress bar)."""

    def __init__(self, target, advance: Callable[[int], None]) -> None:
        self._target = target
        self._advance = advance

    def write(self, data) -> int:
        written = self._target.write(data)
        self._advance(len(data))
        return written

    def __getattr__(self, name: str):
        return getattr(self._target, name)


class StreamedLayer:
    """What `layer_stream` yields: the `LayerStream` to write entries into, `abandon` for a writer that finds
    the stream cannot be trusted (the commit then archives the directory itself), and after the block the
    layer's ``diff_id`` (None if abandoned) and `LayerInfo` (its tar's size), what `commit_upperdir` uses."""

    def __init__(self, stream: LayerStream, on_commit: Callable[[str], None] | None = None) -> None:
        self.stream = stream
        self.abandoned = False
        self.diff_id: str | None = None  # once the block ended
        self.info: LayerInfo | None = None
        self.clamp_mtime: int | None = None
        self.on_commit = on_commit

    @property
    def complete(self) -> bool:
        """The stream ended and holds exactly the upperdir's layer."""
        return self.info is not None and not self.abandoned

    def abandon(self) -> None:
        self.abandoned = True


@contextmanager
def layer_stream(
    *,
    clamp_mtime: int | None = None,
    on_commit: Callable[[str], None] | None = None,
) -> Iterator[StreamedLayer]:
    """Write the layer of the upperdir the caller is filling, as it fills it: entries go into the yielded
    stream in the layer's order, everything but the end of the archive (which this adds). The tar is hashed
    and counted, not kept.

    The caller promises that, when the block ends normally and `StreamedLayer.abandon` was not called, the
    stream holds exactly what ``write_layer(upperdir)`` would write, and that the upperdir is not changed
    again before its `commit_upperdir`. Then that commit uses the stream's diff_id and size instead of
    reading the directory again, and calls ``on_commit(diff_id)`` once the layer is in the store (so what
    names the layer is written after it exists). Leaving the block with an exception, or abandoned, gives
    the commit nothing and calls nothing.
    """
    from builder.layer.diff import Discard, LayerStream

    with LayerStream(Discard(), compression="none", clamp_mtime=clamp_mtime, hash_output=False) as stream:
        handle = StreamedLayer(stream, on_commit)
        yield handle
        if handle.abandoned:
            return
        info = stream.finish()
    handle.info, handle.clamp_mtime = info, clamp_mtime
    handle.diff_id = info.diff_id
