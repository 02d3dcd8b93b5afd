"""Layer tars the store derives from its unpacked layers instead of keeping them as blobs.

A layer a build step made is stored only unpacked: its tar (the blob of an uncompressed layer, digest =
diff_id) is what `builder.layer.write_layer` writes of that directory, so the store records the tar's size
and the ``clamp_mtime`` it was written with (``layerinfo``'s ``"tar"``) and makes the bytes again when
someone reads that blob. A compressed blob is made from that stream only when something needs one (a push,
an export, a cache export), then kept as one more recorded form of the layer.

`DerivedTar` is the read stream: a thread writes the tar into a pipe; the reader hashes what it reads and,
at the end, raises `DerivedTarMismatch` unless the bytes hash to the diff_id, so a layer changed on disk is
never passed off as its tar.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from builder.store.checkedread import CheckedAtEnd
from builder.store.errors import StoreError

_PIPE_BUFFER = 1 << 20
#: The media type of a layer's tar kept as a blob, as its layerinfo records it: `builder.oci.media.OCI_LAYER`,
#: spelled out because the store sits below `builder.oci` (which imports it).
TAR_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"


@dataclass(frozen=True)
class TarForm:
    """How to make a layer's tar again: its ``size`` in bytes and the ``clamp_mtime`` it was written with."""

    size: int
    clamp_mtime: int | None

    def to_json(self) -> dict:
        return {"size": self.size, "clampMtime": self.clamp_mtime}

    @classmethod
    def from_json(cls, data: object) -> TarForm | None:
        """The form recorded as ``data``, or None when it is not a well-formed record."""
        if not isinstance(data, dict):
            return None
        size, clamp = data.get("size"), data.get("clampMtime")
        if not isinstance(size, int) or size < 0 or not (clamp is None or isinstance(clamp, int)):
            return None
        return cls(size, clamp)


class DerivedTarMismatch(StoreError):
    """The tar made from an unpacked layer does not hash to its diff_id: the layer changed on disk."""

    def __init__(self, diff_id: str, actual: str) -> None:
        super().__init__(
            f"layer {diff_id} no longer makes its own tar (it gives {actual}): the store is damaged; "
            "run `pybuild store verify`, then rebuild"
        )


class DerivedTar(CheckedAtEnd):
    """A read stream over the tar of the unpacked layer at ``path``; checked against ``diff_id`` at EOF.

    Closing it early stops the writing thread (its next write fails on the closed pipe).
    """

    def __init__(self, path: Path, diff_id: str, form: TarForm) -> None:
        read_fd, write_fd = os.pipe()
        super().__init__(io.FileIO(read_fd, "rb"))
        self._diff_id = diff_id
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._write, args=(path, write_fd, form), name=f"tar {diff_id[7:19]}", daemon=True
        )
        self._thread.start()

    def _write(self, path: Path, write_fd: int, form: TarForm) -> None:
        from builder.layer import write_layer

        try:
            with open(write_fd, "wb", buffering=_PIPE_BUFFER) as out:
                write_layer(path, out, compression="none", clamp_mtime=form.clamp_mtime, hash_output=False)
        except BrokenPipeError:
            pass  # the reader closed early
        except BaseException as exc:  # reported to the reader, at its EOF
            self._error = exc

    def check(self, actual: str) -> None:
        self._thread.join()
        if self._error is not None:
            raise StoreError(f"cannot read layer {self._diff_id}: {self._error}") from self._error
        if actual != self._diff_id:
            raise DerivedTarMismatch(self._diff_id, actual)

    def close(self) -> None:
        if not self.closed:
            self._source.close()  # the writer's next write fails: it ends
            self._thread.join()
        super().close()


def open_derived(path: Path, diff_id: str, form: TarForm) -> io.BufferedReader:
    """A buffered `DerivedTar` over the layer at ``path``; the caller closes it."""
    return io.BufferedReader(DerivedTar(path, diff_id, form), buffer_size=_PIPE_BUFFER)
