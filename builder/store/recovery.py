"""After an unclean restart: check what the journal of an ended boot names, and drop what is damaged.

A power loss or kernel crash may lose data that was only in the page cache: a blob may come back short or
full of zeros, a layer's files empty, a rename undone. Every blob and layer written since the last
durability point is named in that boot's journal (`builder.store.journal`). `recover` checks each of them:

- a blob is hashed again; it must match its name;
- a layer whose diff_id is that of its own directory's tar (a step's layer, an imported tree) is written as
  a tar again, into nothing, and its diff_id compared; a layer unpacked from a blob (a pull, a load) cannot
  be checked that way: it is unpacked again from a sound blob recorded for it, or else dropped;
- an entry whose blob or layer is absent counts as failed too (its rename may have been lost while something
  naming it was kept).

What fails is removed, and with it everything that would serve it: cache records naming it (the step runs
again), stored documents (manifests, indexes, configs) naming it, tags whose image reaches it (the next pull
fetches it again; nothing still sound is downloaded twice), layer records of a dropped layer and copy
records naming it. Then the journal file is deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from builder.store import digest as dg
from builder.store.blobs import hash_file
from builder.store.errors import StoreError
from builder.store.fsutil import atomic_write, remove_tree, rename_noreplace
from builder.store.journal import Entry, append, foreign, read_entries
from builder.store.locks import DEAD_PREFIX

if TYPE_CHECKING:
    from builder.store.content import ContentStore

_DIGEST_IN_TEXT = re.compile(r"sha256:[0-9a-f]{64}")


def recover(store: ContentStore) -> list[str]:
    """Check the entries of every other boot's journal, drop what fails and what names it, delete those
    journals. Returns one line per dropped entry and referrer (for `Store.recovered`).

    The caller holds the store's exclusive lock: no process of this boot has opened the store since the
    journals were written (the first open does this), so nothing else uses the store meanwhile."""
    files = foreign(store._journal)
    if not files:
        return []
    failed: set[str] = set()
    layers_failed: set[str] = set()
    entries: dict[tuple[str, str], Entry] = {}  # a layer or blob written twice is checked once
    damaged_lines = False
    for path in files:
        for entry in read_entries(path):
            if entry is None:
                damaged_lines = True
            else:
                entries[entry.kind, entry.digest] = entry
    for entry in entries.values():
        if not _sound(store, entry):
            failed.add(entry.digest)
            if entry.kind == "layer":
                layers_failed.add(entry.digest)
    notes = [f"dropped {d}, written before an unclean restart and damaged" for d in sorted(failed)]
    if damaged_lines:
        notes.append("a journal line was damaged: its entry could not be checked")
    if failed:
        notes.extend(_drop(store, failed, layers_failed))
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return notes


def _sound(store: ContentStore, entry: Entry) -> bool:
    try:
        hex_ = dg.hex_of(entry.digest)
    except StoreError:
        return True  # names nothing the store could hold
    if entry.kind == "blob":
        path = store._blobs / hex_
        try:
            return hash_file(path)[0] == entry.digest
        except OSError:
            return False
    layer = store._layers / hex_
    if not layer.is_dir():
        return False
    if not entry.derived:
        return _unpack_again(store, entry.digest)
    from builder.layer import LayerError, hash_layer

    try:
        info = hash_layer(layer, clamp_mtime=entry.clamp)
    except (LayerError, OSError):
        return False
    return info.diff_id == entry.digest


def _unpack_again(store: ContentStore, diff_id: str) -> bool:
    """Replace a layer unpacked from a blob by a fresh unpacking of a sound blob recorded for it; False if
    there is none (the layer is then dropped)."""
    from builder.layer import LayerError, apply_layer

    for record in store.layer_blobs(diff_id):
        try:
            blob = store._blobs / dg.hex_of(record.get("digest"))
            if hash_file(blob)[0] != record["digest"]:
                continue
        except (OSError, StoreError, TypeError):
            continue
        # Named like a removed layer: if this process dies, the next open deletes it.
        staging = Path(tempfile.mkdtemp(dir=store._tmp, prefix=DEAD_PREFIX))
        os.chmod(staging, 0o755)
        try:
            with open(blob, "rb") as stream:
                if apply_layer(stream, staging, mode="overlay", form=store.form) != diff_id:
                    continue
            store.remove_layer(diff_id)
            append(store._journal, store._locks, Entry("layer", diff_id))  # not flushed either
            if rename_noreplace(staging, store._layers / dg.hex_of(diff_id)):
                return True
        except (LayerError, OSError):
            continue
        finally:
            remove_tree(staging)
    return False


def _drop(store: ContentStore, failed: set[str], layers_failed: set[str]) -> list[str]:
    """Remove the failed blobs and layers and whatever names them; returns what it removed."""
    from builder.store.gc import _closure, _references, _referrers_first, _stale_copy_records

    notes: list[str] = []
    # Documents (manifests, indexes, configs) naming failed content go too, and what names them in turn.
    documents: set[str] = set()
    while True:
        more = {
            b
            for b in store.blobs()
            if b not in failed | documents and _references(store, b) & (failed | documents)
        }
        if not more:
            break
        documents |= more
    doomed = failed | documents
    # Referrers first (as gc does), so a crash here leaves nothing that names removed content.
    for key in store.cache_keys():
        record = store.cache_get(key)
        if record is not None and doomed & set(_DIGEST_IN_TEXT.findall(json.dumps(record))):
            store.cache_remove(key)
            notes.append(f"dropped cache record {key}")
    tags = store.tags()
    kept = {ref: m for ref, m in tags.items() if not (_closure(store, {m}) & doomed)}
    if kept != tags:
        body = json.dumps({"tags": dict(sorted(kept.items()))}, indent=1).encode() + b"\n"
        # Not through set_tag: no session may be made under the store's exclusive lock, and no other
        # process of this boot holds the tags lock yet (see `recover`).
        atomic_write(store._tags_file, body, store._tmp)
        notes.extend(f"dropped tag {ref}" for ref in sorted(set(tags) - set(kept)))
    for path in _stale_copy_records(store, layers_failed):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    for digest in _referrers_first(store, documents):
        store.remove_blob(digest)
        notes.append(f"dropped {digest}, which names damaged content")
    for digest in sorted(failed):
        if digest in layers_failed:
            store.remove_layer(digest)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(store._layerinfo / f"{dg.hex_of(digest)}.json")
        else:
            store.remove_blob(digest)
    return notes
