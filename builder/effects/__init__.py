"""The effects: everything the solver asks of the machine, behind one protocol.

The solver decides (what runs, in which order, what a step's key is, whether the cache has it); the effects
do (read a base image, make a tree's layers available, digest what a step reads, run a process in a
container, copy, create a directory, hand out staging directories). `HostEffects` (``host.py``) does it on
this machine over `builder.runtime`, `builder.fsops`, the store and the registry; `RecordingEffects`
(``recording.py``) records the calls and writes a marker file instead, so the solver is tested without root.

Contracts every implementation keeps:
- `fill_*` write the step's changes into ``upper`` (a staging directory of the store, empty on entry) and
  nothing else; on an error they raise (`BuildError` for the user's, with its message and output tail) and
  leave ``upper`` for the solver to discard.
- `fill_*` are called from worker threads, several at once; ``cancel`` is set when the build is being
  cancelled, and a long effect (a process) stops when it is.
- `start` is called once before any other method, `finish` once at the end, whatever happened.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from builder.ops import BaseImage, CopyOp, MkdirOp, RunOp, TreeInput


@dataclass(frozen=True)
class Tree:
    """A tree an op reads, made concrete by the solver: layer directories (top first; a lazy sequence may
    fetch a remote layer on first access) and their ChainID, or a directory of the host (the context, a
    ``--build-context`` directory). ``name`` is how messages call it."""

    name: str
    layers: Sequence[Path] = ()
    chain: str = "empty"
    directory: Path | None = None


@dataclass
class CopyInputs:
    """What a COPY/ADD reads, known before the cache lookup: ``files`` (path → content description, the
    ``files`` key part) and what ADD downloaded (`builder.fsops.add.Fetched`), which the fill places."""

    files: dict[str, str]
    fetched: list = field(default_factory=list)


@dataclass(frozen=True)
class MountContents:
    """Per ``--mount`` of a RUN, the content digest of what it reads (None where it reads nothing), and the
    stage-path digests they were taken from (see `builder.mounts.selections`)."""

    contents: tuple[str | None, ...]
    selections: dict[str, str]


class Cancel:
    """Set once when the build is cancelled; effects register what stops their work (`on_cancel`)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = list(self._callbacks), []
        for callback in callbacks:
            # stopping is best effort; the step's own cleanup follows
            with contextlib.suppress(Exception):
                callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when the build is cancelled (at once if it is); returns an unregister function."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)


class Effects(Protocol):
    """What the solver asks of the machine (see the module docstring for the contracts)."""

    def start(self) -> None: ...

    def finish(self) -> None: ...

    def base_image(self, ref: str, platform: str) -> BaseImage:
        """The image a stage starts FROM (a reference, or a ``--build-context`` name), read (pulled when the
        pull policy asks) and unpacked in the store."""

    def image_tree(self, image: TreeInput) -> Tree:
        """An image named by ``--from``/``from=`` (`builder.ops.ImageInput`), pulled as FROM pulls it."""

    def layer_dirs(self, diff_ids: Sequence[str]) -> Sequence[Path]:
        """The directories of layers ``diff_ids`` (bottom first), top first; a remote cache hit's layer is
        fetched when first read."""

    def fetch_layers(self, diff_ids: Sequence[str]) -> None:
        """Make every layer of ``diff_ids`` local (the final image's)."""

    def copy_inputs(self, op: CopyOp, trees: Mapping[TreeInput, Tree], cancel: Cancel) -> CopyInputs: ...

    def mount_contents(self, op: RunOp, trees: Mapping[TreeInput, Tree], cancel: Cancel) -> MountContents: ...

    def fill_run(
        self,
        op: RunOp,
        lowers: Sequence[Path],
        upper: Path,
        trees: Mapping[TreeInput, Tree],
        output: Callable[[bytes], None],
        cancel: Cancel,
    ) -> None: ...

    def fill_copy(
        self,
        op: CopyOp,
        inputs: CopyInputs,
        lowers: Sequence[Path],
        upper: Path,
        trees: Mapping[TreeInput, Tree],
        *,
        reuse: bool,
    ):
        """Fill ``upper``; returns the `builder.fsops.layerstream.StreamedLayer` when the layer was written
        while copying (the commit then stores that), else None."""

    def fill_mkdir(self, op: MkdirOp, lowers: Sequence[Path], upper: Path) -> None: ...

    def staging(self) -> Path:
        """A fresh staging directory of the store (swept if this process dies)."""

    def discard(self, path: Path) -> None: ...
