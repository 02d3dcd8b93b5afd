"""The content-addressed store: blobs, unpacked layers, tags, the cache index, and locks.

Any number of pybuild processes may use one store at once; a process that dies at any point (SIGKILL) leaves
the store usable, and its leftovers are removed by the next `Store.open`; after a power loss or kernel
crash, that open also drops what the crash damaged (see "How writes stay safe").

On-disk layout (``<root>`` is ``--root``, ``$PYBUILD_ROOT``, ``/var/lib/pybuild`` for root, else
``~/.local/share/pybuild``)::

    layout.json                    {"version": 1}; a store with another version is refused
    blobs/sha256/<hex>             blob content, named by its sha256 (manifests, configs, compressed layers)
    layers/sha256/<hex>/           an unpacked layer named by its diff_id, in overlay form (whiteouts are
                                   0/0 char devices, opaque dirs carry trusted.overlay.opaque=y); present
                                   means complete; never written into once present
    layerinfo/sha256/<hex>.json    what is known of a diff_id's blobs: {"diffID", "tar": {"size",
                                   "clampMtime"}, "blobs": [descriptor…]}; "tar": the layer is what
                                   write_layer makes of its directory, so its tar is a blob made on demand
                                   (`builder.store.derived`); "blobs": compressed forms kept as files
    tags.json                      {"tags": {"name:tag": "sha256:<manifest>"}}
    journal/<boot id>              blobs and layers written, not yet flushed, during that boot: a JSON line
                                   each (journal/<boot id>.<hex>: set aside by a `Store.sync` under way)
    cache/<hh>/<key>.json          cache index: a JSON record per hex key (hh: the key's first two digits)
    locks/<name>                   flock files: "store" (sessions vs. recovery sweep), "tags", "layerinfo",
                                   "layer-<hex>" (one layer being unpacked), "gc" (held shared by writers,
                                   exclusive by `Store.gc`), "journal" (held shared while an entry is
                                   appended, exclusive by `Store.sync`), and any name callers choose
    tmp/s-XXXXXXXX/                one process's scratch session: temp files and staging dirs; the process
                                   holds an exclusive flock on the directory while it lives
    tmp/dead-XXXXXXXX/             scratch of a dead process (or a removed layer) being deleted
    tmp/.w-XXXXXXXX                a temp file written under the store lock (layout.json)
    state/<name>/                  owned by another component (`Store.state_dir`); never swept by the store,
                                   but for state/copies/, whose records gc removes with the layer they name

How writes stay safe:

- Everything becomes visible by one rename from the writer's session on the same file system: a blob is
  hashed while written and renamed to its digest; a layer is filled in a staging dir and renamed to its
  diff_id with RENAME_NOREPLACE; tags, layer records and cache records are written to a temp file, fsync'd
  and renamed over the old one. A killed process leaves the old state or the new, plus leftovers in
  ``tmp/``.
- Blobs and layers are not flushed (no fsync, no syncfs on the build path): before its rename each is named
  in ``journal/<boot id>`` (fsync'd; see `builder.store.journal`). The first `Store.open` after an unclean
  restart checks what other boots' journals name and drops what the crash damaged, with what names it
  (`builder.store.recovery`). `Store.sync` (``pybuild store sync``, the end of `Store.gc`) flushes once and
  forgets the journal.
- A put is idempotent; a get verifies (`Store.open_blob` checks the digest at EOF; a damaged blob is removed
  and reported as `BlobCorrupted`).
- `Store.open` sweeps ``tmp/`` under the exclusive "store" lock: a session whose flock can be taken belongs
  to a dead process and is deleted, never reused; locked sessions belong to live processes and are left
  alone; names the store does not make are never touched. Deleting never follows symlinks or crosses
  into a mount left below a staging dir.
- `Store.gc` deletes blobs and layers that no tag, cache record or reachable JSON document names (see
  `builder.store.gc`); `Store.verify` reports damage without repairing it.
"""

from builder.store.blobs import BlobWriter
from builder.store.errors import (
    BlobCorrupted,
    BlobNotFound,
    DigestMismatch,
    InvalidDigest,
    LayerNotFound,
    StoreError,
)
from builder.store.locks import LockBusy
from builder.store.store import Store, default_root

__all__ = [
    "BlobCorrupted",
    "BlobNotFound",
    "BlobWriter",
    "DigestMismatch",
    "InvalidDigest",
    "LayerNotFound",
    "LockBusy",
    "Store",
    "StoreError",
    "default_root",
]
