"""Unpacked layers (overlay-form directories keyed by diff_id) and the compressed blobs known for each."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from builder.faults import checkpoint
from builder.store import digest as dg
from builder.store.derived import TarForm, open_derived
from builder.store.errors import DigestMismatch, LayerNotFound, StoreError
from builder.store.fsutil import atomic_write, fsync_dir, remove_tree, rename_noreplace
from builder.store.journal import Entry
from builder.store.locks import DEAD_PREFIX

_LAYERINFO_LOCK = "layerinfo"


class LayersMixin:
    """Layer methods of `Store`; relies on its directories and on `Store._scratch`, `lock`, `has_blob`."""

    _layers: Path
    _layerinfo: Path
    _tmp: Path
    _note_unsynced: Callable[[Entry], None]

    def _layer_dir(self, diff_id: str) -> Path:
        return self._layers / dg.hex_of(diff_id, "diff_id")

    def has_layer(self, diff_id: str) -> bool:
        """True if the unpacked layer is present (and therefore complete: it appears by one rename)."""
        return self._layer_dir(diff_id).is_dir()

    def layer_path(self, diff_id: str) -> Path:
        """The layer's directory, ready to be an overlayfs lowerdir. Read-only by contract: never write into it
        (permissions cannot enforce that for root). Raises `LayerNotFound`."""
        path = self._layer_dir(diff_id)
        if not path.is_dir():
            raise LayerNotFound(diff_id)
        return path

    def layers(self) -> list[str]:
        """diff_ids of all unpacked layers."""
        return sorted(f"{dg.ALGORITHM}:{e.name}" for e in os.scandir(self._layers) if dg.is_hex(e.name))

    def staging_dir(self) -> Path:
        """A fresh empty directory (mode 0755) on the store's file system, private to this process.

        Fill it (unpack a layer, or use it as an overlay upperdir) and hand it to `commit_layer`, or drop it
        with `discard_staging`. If the process dies first, the next `Store.open` deletes it.
        """
        path = Path(tempfile.mkdtemp(dir=self._scratch(), prefix="stage-"))
        os.chmod(path, 0o755)
        return path

    def discard_staging(self, staging: Path) -> None:
        """Delete a staging directory (never crossing into a mount below it). Missing is not an error."""
        staging = Path(staging).absolute()
        if not staging.is_relative_to(self._tmp):
            raise StoreError(f"{staging} is not a staging directory of the store at {self._tmp.parent}")
        remove_tree(staging)

    def commit_layer(
        self, staging: Path, diff_id: str, *, clamp_mtime: int | None = None, derived: bool = True
    ) -> Path:
        """Move a filled staging directory into place as the layer ``diff_id``; returns the layer's path.

        Idempotent: if the layer is already present (another process won the race), ``staging`` is deleted
        and the existing layer returned. ``staging`` must be on the store's file system (any `staging_dir`
        is). A present layer is complete for every process (it appears by one rename); its content is not
        flushed but journaled (see `builder.store.journal`), so after an unclean restart it is checked:
        ``derived`` promises that ``diff_id`` is what `builder.layer.write_layer` makes of ``staging`` with
        ``clamp_mtime`` (False: it was unpacked from a blob recorded for it with `record_layer_blob`).
        """
        dest = self._layer_dir(diff_id)
        staging = Path(staging)
        if not staging.is_dir():
            raise StoreError(f"cannot commit layer {diff_id}: {staging} is not a directory")
        if dest.is_dir():
            remove_tree(staging)
            return dest
        # Journaled, not flushed: syncfs here waited for every process's dirty data on the file system.
        self._note_unsynced(Entry("layer", diff_id, clamp_mtime, derived))
        checkpoint("layer.staged")
        try:
            moved = rename_noreplace(staging, dest)
        except OSError as exc:
            raise StoreError(f"cannot commit layer {diff_id} from {staging}: {exc.strerror}") from None
        if not moved:
            remove_tree(staging)
        checkpoint("layer.committed")
        return dest

    def layer_lock(self, diff_id: str) -> AbstractContextManager[None]:
        """The lock serialising work on one layer (so two processes do not unpack it twice)."""
        return self.lock(f"layer-{dg.hex_of(diff_id, 'diff_id')}")

    def ensure_layer(self, diff_id: str, unpack: Callable[[Path], str]) -> Path:
        """The layer's path, unpacking it first if absent: ``unpack(staging)`` fills an empty staging dir and
        returns the diff_id it computed. Under the layer's lock, so a second process waits and then finds it
        present. A different computed diff_id raises `DigestMismatch` and commits nothing; any exception from
        ``unpack`` discards the staging dir. The layer is journaled as unpacked from a blob: record that blob
        (`record_layer_blob`) so an unclean restart can unpack it again rather than drop it. Do not hold
        `layer_lock` for the same layer when calling this.
        """
        if self.has_layer(diff_id):
            return self._layer_dir(diff_id)
        with self.layer_lock(diff_id):
            if self.has_layer(diff_id):
                return self._layer_dir(diff_id)
            staging = self.staging_dir()
            try:
                actual = unpack(staging)
                if actual != diff_id:
                    raise DigestMismatch(diff_id, actual, what="unpacked layer")
            except BaseException:
                remove_tree(staging)
                raise
            return self.commit_layer(staging, diff_id, derived=False)

    def remove_layer(self, diff_id: str) -> bool:
        """Delete an unpacked layer; returns False if absent. The caller makes sure no mount uses it."""
        dest = self._layer_dir(diff_id)
        with self.layer_lock(diff_id):
            if not dest.is_dir():
                return False
            # Renamed out first so the layer disappears at once, never half-deleted under its name.
            doomed = self._tmp / f"{DEAD_PREFIX}{secrets.token_hex(8)}"
            os.rename(dest, doomed)
            fsync_dir(self._layers)
        checkpoint("layer.remove")
        remove_tree(doomed)
        return True

    # -- compressed forms ----------------------------------------------------------------------------------

    def _layerinfo_file(self, diff_id: str) -> Path:
        return self._layerinfo / f"{dg.hex_of(diff_id, 'diff_id')}.json"

    def _read_layerinfo_doc(self, diff_id: str) -> dict:
        try:
            data = json.loads(self._layerinfo_file(diff_id).read_bytes())
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # written by rename, so only outside damage gets here; the record is just advisory
        return data if isinstance(data, dict) else {}

    def _read_layerinfo(self, diff_id: str) -> list[dict]:
        return _blobs_of(self._read_layerinfo_doc(diff_id))

    def _write_layerinfo(self, diff_id: str, doc: dict) -> None:
        """Replace the record of ``diff_id``; the caller holds the layerinfo lock."""
        body = json.dumps({"diffID": diff_id, **doc}, indent=1).encode()
        atomic_write(self._layerinfo_file(diff_id), body + b"\n", self._scratch())

    def record_layer_blob(self, diff_id: str, digest: str, size: int, media_type: str) -> None:
        """Remember that blob ``digest`` (``size`` bytes, ``media_type``) is a compressed form of the layer
        ``diff_id``. The newest record comes first; recording the same digest again updates it."""
        dg.hex_of(digest)
        if not isinstance(size, int) or size < 0:
            raise StoreError(f"invalid blob size {size!r}")
        entry = {"digest": digest, "size": size, "mediaType": str(media_type)}
        with self.lock(_LAYERINFO_LOCK):
            doc = self._read_layerinfo_doc(diff_id)
            blobs = [b for b in _blobs_of(doc) if b.get("digest") != digest]
            self._write_layerinfo(diff_id, {**_tar_part(doc), "blobs": [entry, *blobs]})

    def record_layer_tar(self, diff_id: str, form: TarForm) -> None:
        """Remember that the layer ``diff_id`` is what `builder.layer.write_layer` makes of its unpacked
        directory with ``form.clamp_mtime`` (``form.size`` bytes): its tar is then a blob the store can read
        (`has_blob`, `open_blob` of ``diff_id``) without keeping it (see `builder.store.derived`)."""
        with self.lock(_LAYERINFO_LOCK):
            self._write_layerinfo(diff_id, {"tar": form.to_json(), "blobs": self._read_layerinfo(diff_id)})

    def layer_tar_form(self, diff_id: str) -> TarForm | None:
        """How to make the tar of layer ``diff_id`` from its unpacked directory, when that was recorded and
        the layer is present; else None."""
        if not _valid(diff_id):
            return None
        form = TarForm.from_json(self._read_layerinfo_doc(diff_id).get("tar"))
        return form if form is not None and self.has_layer(diff_id) else None

    def open_layer_tar(self, diff_id: str) -> BinaryIO:
        """A read stream over the tar of layer ``diff_id`` made from its unpacked directory, checked against
        the diff_id at EOF (`builder.store.derived.DerivedTarMismatch`). Raises `LayerNotFound` when the
        store cannot make it (no recorded `TarForm`, or the layer is absent)."""
        form = self.layer_tar_form(diff_id)
        if form is None:
            raise LayerNotFound(diff_id)
        return open_derived(self._layer_dir(diff_id), diff_id, form)

    def layer_blobs(self, diff_id: str) -> list[dict]:
        """All recorded compressed forms of the layer, newest first, whether or not their blobs are present."""
        return self._read_layerinfo(diff_id)

    def layer_blob(self, diff_id: str) -> dict | None:
        """``{"digest", "size", "mediaType"}`` of the newest recorded compressed form whose blob is present."""
        for entry in self._read_layerinfo(diff_id):
            blob = entry.get("digest")
            if isinstance(blob, str) and _valid(blob) and self.has_blob(blob):
                return {"digest": blob, "size": entry.get("size"), "mediaType": entry.get("mediaType")}
        return None


def _blobs_of(doc: dict) -> list[dict]:
    """The well-formed entries of a layerinfo record's ``"blobs"``."""
    blobs = doc.get("blobs")
    return [b for b in blobs if isinstance(b, dict)] if isinstance(blobs, list) else []


def _tar_part(doc: dict) -> dict:
    """The ``"tar"`` entry of a layerinfo record, to keep when its blobs change."""
    return {"tar": doc["tar"]} if TarForm.from_json(doc.get("tar")) is not None else {}


def _valid(digest: str) -> bool:
    try:
        dg.hex_of(digest)
    except StoreError:
        return False
    return True
