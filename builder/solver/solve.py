"""The solve: every stage of a `BuildGraph` built, independent ones at the same time.

Each stage runs as a `StageRun` on the `Scheduler`: it starts once the stage it is built FROM is done (at
once for an image or scratch base), reports its steps in order, and for each layer step makes ready the
trees the op reads — a stage of the build it waits for without holding a worker (a continuation), an image
it pulls — then hands the step to `builder.solver.step`. A step whose key an identical step of this solve is
already making waits for that one and takes its layer: identical ops reached from several places (two
platforms' BUILDPLATFORM stages, two targets' shared stage) run once.

The first failure cancels the rest (`Scheduler`); the error raised is that first one, located at its step.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from builder.cache import chain_id
from builder.effects import Tree
from builder.errors import BuildError
from builder.frontend.graph import BuildGraph, ConfigStep, LayerStep, LoweredStage, StageKey
from builder.instructions.state import ImageState
from builder.ops import (
    ContextInput,
    DirectoryInput,
    ImageInput,
    ScratchInput,
    StageInput,
    TreeInput,
    named_trees,
    trees_of,
)
from builder.solver.readahead import InputRead, reads_ahead
from builder.solver.results import LayerRef, StageResult
from builder.solver.scheduler import Promise
from builder.solver.step import SolveState, StepOutcome, StepSession, read_inputs, run_layer_step


def _shorten(path: str, keep: int = 100) -> str:
    """``path`` for a message: a very long one (a context nested thousands deep) as its two ends."""
    return path if len(path) <= 2 * keep + 1 else f"{path[:keep]}…{path[-keep:]}"


class StepFailed(Exception):
    """A step of build request ``scope`` (of a graph of several) failed with ``error``."""

    def __init__(self, scope: str, error: BuildError) -> None:
        super().__init__(str(error))
        self.scope = scope
        self.error = error


@dataclass
class StepRecord:
    """What the solve reports of one step (in the order steps are listed in the graph)."""

    stage: str
    line: int
    text: str
    cached: bool
    reason: str
    seconds: float
    layer: LayerRef | None = None


@dataclass
class Solved:
    """The result of each stage, and the records of its steps by stage."""

    results: dict[StageKey, StageResult]
    steps: dict[StageKey, list[StepRecord]] = field(default_factory=dict)


class Solve:
    """One solve of ``graph`` through ``session`` (the store, cache, effects, reporter of the build)."""

    def __init__(
        self,
        graph: BuildGraph,
        session: StepSession,
        state: SolveState,
        sessions: Mapping[str, StepSession] | None = None,
    ) -> None:
        self.graph = graph
        self.session = session
        self.state = state
        #: each build request's session, by the scope of its stages (default: ``session``)
        self.sessions = dict(sessions or {})
        self.scheduler = state.scheduler
        self.done: dict[StageKey, Promise[StageResult]] = {key: Promise(str(key)) for key in graph.stages}
        self.records: dict[StageKey, list[StepRecord]] = {key: [] for key in graph.stages}
        #: images read by ``--from``/``from=``: each pulled once per solve, under a lock of its own
        self._images: dict[TreeInput, Tree] = {}
        self._image_locks: dict[TreeInput, threading.Lock] = {}
        self._images_lock = threading.Lock()
        #: the layer step of each graph node once made, for the trace's edges
        self.spans: dict[int, int] = {}

    def run(self) -> Solved:
        def start() -> None:
            for lowered in self.graph.stages.values():
                run = StageRun(self, lowered)
                if lowered.parent is None:
                    self.scheduler.submit(run.resume)
                else:
                    self.scheduler.after(self.done[lowered.parent], run.resume)

        self.scheduler.run(start)
        missing = [str(key) for key, promise in self.done.items() if not promise.kept]
        if missing:  # no failure and yet a stage never ran: the graph had a cycle the planner let through
            raise BuildError(f"internal error: stages never became ready: {', '.join(missing)}")
        return Solved({key: promise.value() for key, promise in self.done.items()}, self.records)

    # --- trees ----------------------------------------------------------------------------------------
    def tree_promise(self, tree: TreeInput, reader: StageKey) -> Promise[Tree] | None:
        """The promise of a tree made ready, for a stage of ``reader``'s build (None: no waiting needed)."""
        if isinstance(tree, StageInput):
            return self.done[replace(reader, index=tree.index)]
        return None

    def session_of(self, key: StageKey) -> StepSession:
        return self.sessions.get(key.scope, self.session)

    def tree(self, tree: TreeInput, reader: StageKey) -> Tree:
        """A ready tree; an image is pulled once per solve, whoever asks first."""
        effects = self.session_of(reader).effects
        if isinstance(tree, StageInput):
            built = self.done[replace(reader, index=tree.index)].value()
            # lazy: a step that hits by the ChainID alone never fetches a stage's remote layers
            return Tree(tree.written, effects.layer_dirs(built.diff_ids), chain_id(built.diff_ids))
        if isinstance(tree, ScratchInput):
            return Tree("scratch")
        if isinstance(tree, ContextInput):
            return Tree("the build context", directory=self.session_of(reader).options.context)
        if isinstance(tree, DirectoryInput):
            return Tree(f"--build-context {tree.name}", directory=Path(tree.path))
        assert isinstance(tree, ImageInput)
        with self._images_lock:
            pulling = self._image_locks.setdefault(tree, threading.Lock())
        with pulling:  # a second step asking waits for the first one's pull, then reads its result
            if tree not in self._images:
                self._images[tree] = effects.image_tree(tree)
            return self._images[tree]


class StageRun:
    """One stage's steps in order; resumable after waiting for another stage or an identical step."""

    def __init__(self, solve: Solve, lowered: LoweredStage) -> None:
        self.solve = solve
        self.lowered = lowered
        self.position = 0
        self.layers: list[LayerRef] = []
        self.pending = None  # the step waiting (for an identical step or its inputs): what it resumes with
        self.started = False
        #: the inputs of each layer step that reads trees, read ahead once its trees are ready (`readahead`)
        self.reads: dict[int, InputRead] = {}

    @property
    def session(self) -> StepSession:
        return self.solve.session_of(self.lowered.key)

    def _start(self) -> None:
        """The layers the stage starts on: its base image's, then its parent stage's own."""
        lowered = self.lowered
        if lowered.parent is not None:
            parent = self.solve.done[lowered.parent].value()
            self.layers = list(parent.layers)
        elif lowered.base is not None:
            base = lowered.base
            self.layers = [
                LayerRef.from_record({**desc, "diff_id": diff_id})
                for desc, diff_id in zip(base.layers, base.diff_ids, strict=True)
            ]
        self.started = True

    def resume(self) -> None:
        """Run steps from where the stage stopped, until it is done or must wait. A failing step raises
        `StepFailed` naming the stage's build request."""
        try:
            self._resume()
        except BuildError as error:
            raise StepFailed(self.lowered.key.scope, error) from None

    def _resume(self) -> None:
        if not self.started:
            self._start()
            self._read_ahead()
        steps = self.lowered.steps
        scheduler = self.solve.scheduler
        while self.position < len(steps):
            if scheduler.cancel.is_set():
                return
            step = steps[self.position]
            if isinstance(step, ConfigStep):
                self.session.reporter.step(step.label, step.text).close()
                self.solve.records[self.lowered.key].append(
                    StepRecord(self.lowered.label, step.span.line, step.text, False, "config", 0.0)
                )
                self.position += 1
                continue
            waiting = self._unready(step)
            if waiting is not None:
                scheduler.after(waiting, self.resume)
                return
            outcome = self._layer(step)
            if isinstance(outcome, Promise):
                scheduler.after(outcome, self.resume)
                return
            self.position += 1
        self._finish()

    def _unready(self, step: LayerStep) -> Promise | None:
        for tree in trees_of(step.op):
            promise = self.solve.tree_promise(tree, self.lowered.key)
            if promise is not None and not promise.kept:
                return promise
        return None

    def _layer(self, step: LayerStep):
        """Run one layer step; a `Promise` when it must wait for an identical step."""
        try:
            trees = self._trees(step)
            outcome = run_layer_step(
                self.session,
                self.solve.state,
                self,
                step,
                self.layers,
                trees,
                self._after(step),
                self.reads.get(step.node),
            )
        except BuildError as error:
            raise error.with_span(step.span) from None
        except OSError as error:
            # the machine refused something during this step (a context file vanished, I/O error): say which
            # step, where
            detail = error.strerror or str(error)
            where = f": {_shorten(os.fsdecode(error.filename))}" if error.filename else ""
            raise BuildError(f"{step.op.keyword}: {detail}{where}", step.span) from None
        if isinstance(outcome, Promise):
            return outcome
        assert isinstance(outcome, StepOutcome)
        self.layers.append(outcome.layer)
        self.solve.records[self.lowered.key].append(
            StepRecord(
                self.lowered.label,
                step.span.line,
                step.text,
                outcome.cached,
                outcome.reason,
                outcome.seconds,
                outcome.layer,
            )
        )
        return outcome

    def _read_ahead(self) -> None:
        """Have the inputs of each layer step that reads other stages read as soon as those stages are done,
        while the steps before it run (`builder.solver.readahead`)."""
        for step in self.lowered.steps:
            if isinstance(step, LayerStep) and reads_ahead(step.op):
                read: InputRead = InputRead(step.text)
                self.reads[step.node] = read
                self._when_trees_ready(step, lambda step=step, read=read: self._read_early(step, read))

    def _when_trees_ready(self, step: LayerStep, task) -> None:
        """Submit ``task`` once every tree ``step`` reads is ready."""
        waiting = self._unready(step)
        if waiting is None:
            self.solve.scheduler.submit(task)
        else:
            self.solve.scheduler.after(waiting, lambda: self._when_trees_ready(step, task))

    def _read_early(self, step: LayerStep, read: InputRead) -> None:
        """A read-ahead task: read ``step``'s inputs unless the stage has reached the step and read them."""
        if not read.claim():
            return
        state = self.solve.state
        span = None
        if state.timeline is not None:
            name = f"{step.label} {step.text[:160]} (line {step.span.line}): reading its sources"
            span = state.timeline.begin(name, after=self._after_trees(step), category="read")
            read.span = span

        def reader():
            failed = True
            try:
                inputs = read_inputs(self.session, step.op, self._trees(step), self.solve.scheduler.cancel)
                failed = False
                return inputs
            finally:
                # ended before the read is kept, which may resume the step: its span begins after this one
                if span is not None:
                    state.timeline.end(span, cached=False, failed=failed)

        read.read(reader)

    def _after(self, step: LayerStep) -> list[int]:
        """The trace spans of the steps ``step`` follows: the one below it, the last of each stage it reads."""
        spans = self.solve.spans
        chain = self.lowered.chain
        position = next(i for i, s in enumerate(chain) if s.node == step.node)
        before = [spans[chain[position - 1].node]] if position and chain[position - 1].node in spans else []
        return before + self._after_trees(step)

    def _after_trees(self, step: LayerStep) -> list[int]:
        """The trace spans of the last step of each stage ``step`` reads."""
        spans = self.solve.spans
        before = []
        for tree in trees_of(step.op):
            if isinstance(tree, StageInput):
                read = self.solve.graph.stages[replace(self.lowered.key, index=tree.index)].chain
                before += [read[-1].node] if read else []
        return [spans[node] for node in before if node in spans]

    def _trees(self, step: LayerStep) -> Mapping[TreeInput, Tree]:
        trees: dict[TreeInput, Tree] = {}
        for tree, flag in named_trees(step.op):
            if tree in trees:
                continue
            try:
                trees[tree] = self.solve.tree(tree, self.lowered.key)
            except BuildError as error:
                raise BuildError(f"{flag}: {error.message}") from None
        return trees

    def _finish(self) -> None:
        """The stage's result: its config and history as lowered, with its layers and their times."""
        lowered = self.lowered
        base = lowered.state
        state = ImageState(
            copy.deepcopy(base.document), base.cmd_set, [x.diff_id for x in self.layers], base.base_history
        )
        history = state.document.get("history") or []
        fallback = self.session.created
        for layer_step, layer in zip(lowered.chain, self._chain_layers(), strict=True):
            history[layer_step.history_index]["created"] = layer.created or fallback
        if lowered.chain:  # as each step's add_layer did: the base's rootfs keeps its place in the document
            rootfs = state.document.setdefault("rootfs", {"type": "layers", "diff_ids": []})
            rootfs["diff_ids"] = list(state.layers)
        self.solve.done[lowered.key].keep(StageResult(state, tuple(self.layers)))

    def _chain_layers(self) -> list[LayerRef]:
        """The layers of the chain's steps: the top ``len(chain)`` of the stage's layers."""
        count = len(self.lowered.chain)
        return self.layers[len(self.layers) - count :] if count else []
