"""`RecordingEffects`: the effects without the machine, for testing the solver without root.

Every call is recorded (`calls`, with the thread and the times a fill started and ended). A fill writes one
file into the step's upperdir named after the op and holding its defining text, so each op gets a layer of
its own, committed to the (real) store by the solver as any layer; base images come from a table given to
the constructor. ``fail`` makes chosen ops fail as a RUN fails; ``delay`` makes fills take time (stopped
early when the build is cancelled), to test what runs at the same time. ``read_fail`` and ``read_delay`` do
the same for the reading of a COPY's inputs (`copy_inputs`, recorded as ``inputs``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from builder.effects import Cancel, CopyInputs, MountContents, Tree
from builder.errors import BuildError
from builder.ops import BaseImage, CopyOp, ImageInput, MkdirOp, RunOp, TreeInput
from builder.sources import DigestStopped


@dataclass(frozen=True)
class Call:
    """One recorded call: ``kind`` (``run``, ``copy``, ``mkdir``, ``base_image``, …), what it was about
    (a RUN's command, a COPY's sources, an image reference), and for fills when it ran and on which thread."""

    kind: str
    about: str
    thread: str = ""
    started: float = 0.0
    ended: float = 0.0
    cancelled: bool = False


def _empty_image(ref: str) -> BaseImage:
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }
    return BaseImage(ref, "sha256:" + "0" * 64, config, (), ())


@dataclass
class RecordingEffects:
    """See the module docstring. ``images`` maps references to the `BaseImage` a FROM gets (default: an
    empty image); ``fail(op)`` returns an error message for an op that must fail (None: it succeeds);
    ``delay(op)`` the seconds its fill takes; ``read_fail``/``read_delay`` the same for `copy_inputs`."""

    store: object
    images: Mapping[str, BaseImage] = field(default_factory=dict)
    fail: Callable[[object], str | None] = lambda op: None
    delay: Callable[[object], float] = lambda op: 0.0
    read_fail: Callable[[object], str | None] = lambda op: None
    read_delay: Callable[[object], float] = lambda op: 0.0
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def fills(self, kind: str | None = None) -> list[Call]:
        """The recorded fills (``run``, ``copy``, ``mkdir``), in the order they ended."""
        kinds = (kind,) if kind else ("run", "copy", "mkdir")
        with self._lock:
            return [call for call in self.calls if call.kind in kinds]

    # --- the protocol -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._record(Call("start", ""))

    def finish(self) -> None:
        self._record(Call("finish", ""))

    def base_image(self, ref: str, platform) -> BaseImage:
        self._record(Call("base_image", ref))
        return self.images.get(ref) or _empty_image(ref)

    def image_tree(self, image: TreeInput) -> Tree:
        assert isinstance(image, ImageInput)
        self._record(Call("image_tree", image.ref))
        return Tree(image.ref)

    def layer_dirs(self, diff_ids: Sequence[str]) -> Sequence[Path]:
        return [self.store.layer_path(d) for d in reversed(list(diff_ids))]

    def fetch_layers(self, diff_ids: Sequence[str]) -> None:
        self._record(Call("fetch_layers", " ".join(diff_ids)))

    def copy_inputs(self, op: CopyOp, trees: Mapping[TreeInput, Tree], cancel: Cancel) -> CopyInputs:
        started = time.monotonic()
        cancelled = cancel_wait(cancel, self.read_delay(op))
        thread = threading.current_thread().name
        self._record(Call("inputs", " ".join(op.sources), thread, started, time.monotonic(), cancelled))
        if cancelled:
            raise DigestStopped("reading the sources was stopped: the build was cancelled")
        message = self.read_fail(op)
        if message is not None:
            raise BuildError(message)
        chains = ",".join(sorted(tree.chain for tree in trees.values()))
        return CopyInputs({source: f"recorded {source} from {chains or 'context'}" for source in op.sources})

    def mount_contents(self, op: RunOp, trees: Mapping[TreeInput, Tree], cancel: Cancel) -> MountContents:
        return MountContents(tuple(None for _ in op.mounts), {})

    def fill_run(self, op: RunOp, lowers, upper: Path, trees, output, cancel: Cancel) -> None:
        about = " ".join(op.argv)
        self._fill("run", about, op, upper, cancel)
        output(f"ran {about}\n".encode())

    def fill_copy(self, op: CopyOp, inputs: CopyInputs, lowers, upper: Path, trees, *, reuse: bool):
        self._fill("copy", " ".join(op.sources), op, upper, Cancel())
        return None

    def fill_mkdir(self, op: MkdirOp, lowers, upper: Path) -> None:
        self._fill("mkdir", op.path, op, upper, Cancel())

    def staging(self) -> Path:
        return self.store.staging_dir()

    def discard(self, path: Path) -> None:
        if path.exists():
            self.store.discard_staging(path)

    # --- a fill -------------------------------------------------------------------------------------------
    def _fill(self, kind: str, about: str, op, upper: Path, cancel: Cancel) -> None:
        started = time.monotonic()
        cancelled = cancel_wait(cancel, self.delay(op))
        message = "cancelled" if cancelled else self.fail(op)
        thread = threading.current_thread().name
        self._record(Call(kind, about, thread, started, time.monotonic(), cancelled))
        if message is not None:
            raise BuildError(message)
        (upper / f"{kind}.out").write_text(f"{kind} {about}\n{op!r}\n")


def cancel_wait(cancel: Cancel, seconds: float) -> bool:
    """Wait ``seconds``, or less if the build is cancelled meanwhile; True when it was."""
    stopped = threading.Event()
    withdraw = cancel.on_cancel(stopped.set)
    try:
        return stopped.wait(seconds) if seconds > 0 else cancel.is_set()
    finally:
        withdraw()
