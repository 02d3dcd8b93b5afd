"""`Store`: a `ContentStore` (`builder.store.content`) with its upkeep — `Store.open`, which sweeps what crashed
processes left behind and recovers after an unclean restart (`builder.store.recovery`), `verify` and `gc`.

The upkeep modules take a `ContentStore`; this module composes them, so the arrows point one way (upkeep →
content, store → upkeep) and none of them imports the class that calls it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from builder.layer.form import ROOT_FORM, LayerForm
from builder.store.content import ContentStore
from builder.store.errors import StoreError
from builder.store.fsutil import atomic_write
from builder.store.gc import GcReport
from builder.store.gc import gc as collect_garbage
from builder.store.locks import GLOBAL_LOCK, file_lock, mark_dead, remove_dead
from builder.store.recovery import recover
from builder.store.verify import verify as verify_store

LAYOUT_VERSION = 1


def default_root() -> Path:
    """``$PYBUILD_ROOT``, else ``/var/lib/pybuild`` for root, else ``~/.local/share/pybuild``."""
    env = os.environ.get("PYBUILD_ROOT")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/pybuild")
    return Path.home() / ".local" / "share" / "pybuild"


class Store(ContentStore):
    """A content-addressed store shared safely by any number of pybuild processes (see the package docs),
    opened with `Store.open`; the content operations are `ContentStore`'s."""

    @classmethod
    def open(cls, root: str | os.PathLike | None = None, *, form: LayerForm = ROOT_FORM) -> Store:
        """Open (creating if needed) the store at ``root`` (default: `default_root`), and remove what crashed
        processes left behind. Raises `StoreError` if the directory is not usable as a store. ``form`` is how
        layers are written on this host (`builder.layer.form`); the CLI and the API decide it once and pass
        it (`ROOT_FORM`, the default, is root's outside a user namespace)."""
        store = cls(Path(root).absolute() if root is not None else default_root().absolute(), form)
        try:
            dirs = (store._blobs, store._layers, store._layerinfo, store._cache, store._locks, store._tmp)
            for d in (*dirs, store._journal):
                d.mkdir(parents=True, exist_ok=True)
            # Exclusive: a sweep must not see a session half-created, nor a layout.json being written; and
            # no process may use what an unclean restart damaged before `recover` has dropped it.
            with file_lock(store._locks, GLOBAL_LOCK):
                store._check_layout()
                store.recovered = mark_dead(store._tmp)
                store.recovered += recover(store)
            remove_dead(store._tmp)
        except PermissionError as exc:
            raise StoreError(f"cannot use store at {store.root}: {exc.strerror} ({exc.filename})") from None
        return store

    def _check_layout(self) -> None:
        layout = self.root / "layout.json"
        try:
            version = json.loads(layout.read_text()).get("version")
        except FileNotFoundError:
            atomic_write(layout, json.dumps({"version": LAYOUT_VERSION}).encode() + b"\n", self._tmp)
            return
        except (ValueError, AttributeError):
            raise StoreError(f"{layout} is damaged; is {self.root} a pybuild store?") from None
        if version != LAYOUT_VERSION:
            raise StoreError(
                f"store at {self.root} has layout version {version!r}; "
                f"this pybuild reads version {LAYOUT_VERSION}"
            )

    def verify(self) -> list[str]:
        """Check the whole store; one line per problem found (see `builder.store.verify.verify`)."""
        return verify_store(self)

    def gc(
        self,
        *,
        extra_roots=frozenset(),
        grace_seconds: float = 3600,
        dry_run: bool = False,
        drop_cache_keys=frozenset(),
    ) -> GcReport:
        """Delete unreachable blobs and layers (after the cache records ``drop_cache_keys``); returns a
        `GcReport` (see `builder.store.gc`)."""
        report = collect_garbage(
            self,
            extra_roots=set(extra_roots),
            grace_seconds=grace_seconds,
            dry_run=dry_run,
            drop_cache_keys=set(drop_cache_keys),
        )
        if not dry_run:
            self.sync()  # a store command, off the build path: a good moment for a durability point
        return report
