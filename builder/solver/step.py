"""One layer step: its key derived from its op, the cache asked, and on a miss the op run and committed.

The key's parts are the op's own (`builder.ops`) plus what every layer step has: the instruction, the
ChainID of the layers below (``parent``: a step that ran again but made the same layer keeps the steps after
it cached) and the SOURCE_DATE_EPOCH its layer's times and history are clamped to. A miss is explained
against the step's last build (`builder.cache.explain`); the session remembers which chains this build
made by running a step, to say "parent step ran" rather than "base image changed".

With ``--cache-from`` a local miss asks the imported indexes; a remote hit leaves its layer remote until
something reads it (`builder.effects.Effects.layer_dirs`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from builder.cache import PARENT_BASE, PARENT_CACHED, PARENT_RAN, BuildCache, chain_id, key_of, keyed
from builder.effects import Cancel, Effects, Tree
from builder.frontend.graph import LayerStep
from builder.oci.config import format_time
from builder.ops import CopyOp, MkdirOp, RunOp, TreeInput
from builder.solver.commit import commit_upperdir
from builder.solver.readahead import InputRead
from builder.solver.results import LayerRef
from builder.solver.scheduler import Promise, Scheduler


@dataclass
class StepSession:
    """What every step of one build request shares: the store, the cache, the shared cache, the effects, the
    reporter, and the request's options (``epoch``: SOURCE_DATE_EPOCH; ``created``: the build's time)."""

    store: object
    cache: BuildCache
    shared: object
    effects: Effects
    reporter: object
    options: object
    epoch: int | None
    created: str


@dataclass
class SolveState:
    """What one solve learns as it goes, shared by every request in it; a solve started again (after a
    remote layer failed) starts with a new one."""

    scheduler: Scheduler
    timeline: object = None
    #: chain id → PARENT_RAN / PARENT_CACHED, for this solve's explanations
    origins: dict[str, str] = field(default_factory=dict)
    #: key → the layer an identical step of this solve is making (or made)
    inflight: dict[str, Promise] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class StepOutcome:
    layer: LayerRef
    cached: bool
    reason: str
    seconds: float


@dataclass
class _Pending:
    """A step the stage left to wait — for an identical step (``key`` is the key they share) or for its
    inputs being read ahead (``key`` is None) — with its progress line, kept for resuming."""

    node: int
    handle: object
    started: float
    key: str | None
    span: int | None


def step_parts(op, parent: str, epoch: int | None, inputs) -> dict:
    """The step's readable key parts: what every layer step has, then the op's own (last: a ``--link``
    COPY's own ``parent`` replaces the one below it)."""
    common = {"keyword": op.keyword, "parent": parent, "epoch": epoch}
    if isinstance(op, RunOp):
        own = op.key_parts(inputs.contents, inputs.selections)
    elif isinstance(op, CopyOp):
        own = op.key_parts(inputs.files)
    else:
        own = op.key_parts()
    return {**common, **own}


def read_inputs(session: StepSession, op, trees: Mapping[TreeInput, Tree], cancel: Cancel):
    """What the op reads that only the machine can say, for its key (and, for a COPY, its fill); it depends
    on ``trees`` alone, not on the layers below the step, so it may be read ahead (`readahead`). Stops with
    `builder.sources.DigestStopped` once ``cancel`` (the build's) is set."""
    if isinstance(op, RunOp):
        return session.effects.mount_contents(op, trees, cancel)
    if isinstance(op, CopyOp):
        return session.effects.copy_inputs(op, trees, cancel)
    return None


def run_layer_step(
    session: StepSession,
    state: SolveState,
    run,
    step: LayerStep,
    below: Sequence[LayerRef],
    trees: Mapping[TreeInput, Tree],
    after: Sequence[int] = (),
    read: InputRead | None = None,
) -> StepOutcome | Promise:
    """Find or make ``step``'s layer on the layers ``below`` (bottom first). ``run`` is the `StageRun`
    (its ``pending`` keeps a step that waits: resuming it goes on from where it stopped). ``after`` are the
    trace spans of the steps this one follows. ``read`` is the step's `InputRead` when its inputs may be read
    ahead (None: they are read here). Returns the outcome, or the `Promise` to wait for."""
    op = step.op
    pending: _Pending | None = run.pending
    if pending is not None and pending.node == step.node:
        run.pending = None
        handle, started, span = pending.handle, pending.started, pending.span
        if pending.key is not None:  # an identical step made the layer
            made = state.inflight[pending.key].value()
            handle.cached()
            _end(state, run, step, span, cached=True)
            return StepOutcome(made, True, "cached", time.monotonic() - started)
    else:
        started = time.monotonic()
        handle = session.reporter.step(step.label, step.text)
        span = None
    if read is not None and not read.claim():  # read ahead, by a task of its own
        if not read.done.kept:  # the step starts once the read is over
            run.pending = _Pending(step.node, handle, started, None, None)
            return read.done
        inputs = read.result()
        after = [*after, *([read.span] if read.span is not None else [])]
        span = _begin(state, step, after)
    else:
        # the span begins when the step runs, not while it waits: a worker's track holds one span at a time
        span = span if span is not None else _begin(state, step, after)
        inputs = read_inputs(session, op, trees, state.scheduler.cancel)
    parent = chain_id([layer.diff_id for layer in below])
    parts = step_parts(op, parent, session.epoch, inputs)
    # a COPY's parts list every source file: their digest is taken once per step, not at each use
    kept = keyed(parts)
    key = key_of(kept)
    with state.lock:
        making = state.inflight.get(key)
        if making is None:
            promise: Promise[LayerRef] = Promise(step.text)
            state.inflight[key] = promise
    if making is not None:
        if not making.kept:
            run.pending = _Pending(step.node, handle, started, key, span)
            return making
        handle.cached()
        _end(state, run, step, span, cached=True)
        return StepOutcome(making.value(), True, "cached", time.monotonic() - started)
    try:
        layer, cached, reason = _produce(
            session, state, run.lowered, step, parts, key, inputs, below, trees, handle
        )
    except BaseException as error:
        if state.scheduler.cancel.is_set():  # stopped because another step failed first
            handle.cancelled()
        else:
            handle.failed(getattr(error, "message", str(error)))
        _end(state, run, step, span, cached=False, failed=True)
        raise
    below_chain = chain_id([*(layer_.diff_id for layer_ in below), layer.diff_id])
    session.shared.add_step(key, kept, layer.record(), below_chain)
    with state.lock:
        if not cached or below_chain not in state.origins:
            state.origins[below_chain] = PARENT_CACHED if cached else PARENT_RAN
    if not cached:
        handle.done()
    _end(state, run, step, span, cached=cached)
    promise.keep(layer)
    return StepOutcome(layer, cached, reason, time.monotonic() - started)


def _produce(
    session: StepSession, state: SolveState, lowered, step: LayerStep, parts, key, inputs, below, trees, handle
):
    """The layer for ``parts`` (whose cache key is ``key``): (layer, cached?, reason)."""
    lookup = session.cache.lookup(
        step.identity,
        parts,
        key=key,
        enabled=not lowered.no_cache,
        disabled_reason=f"--no-cache-filter {lowered.stage.name or lowered.stage.index}",
        about=step.about,
        parent=state.origins.get(parts["parent"], PARENT_BASE),
    )
    if lookup.result is not None:
        handle.cached()
        return LayerRef.from_record(lookup.result["result"]), True, "cached"
    handle.reason(lookup.reason)
    op = step.op
    effects = session.effects
    staging = effects.staging()
    try:
        lowers = [] if isinstance(op, CopyOp) and op.link else effects.layer_dirs([x.diff_id for x in below])
        streamed = None
        if isinstance(op, RunOp):
            effects.fill_run(op, lowers, staging, trees, handle.output, state.scheduler.cancel)
        elif isinstance(op, CopyOp):
            reuse = not (session.options.no_cache or lowered.no_cache)
            streamed = effects.fill_copy(op, inputs, lowers, staging, trees, reuse=reuse)
        else:
            assert isinstance(op, MkdirOp)
            effects.fill_mkdir(op, lowers, staging)
        with handle.progress("committing layer") as advance:
            record = commit_upperdir(
                session.store,
                staging,
                clamp_mtime=session.epoch,
                advance=advance,
                streamed=streamed,
            )
    except BaseException:
        effects.discard(staging)
        raise
    # when the layer was made: a cached step keeps it, so a fully cached rebuild is the same image
    record["created"] = format_time(session.epoch if session.epoch is not None else time.time())
    session.cache.record(step.identity, parts, lookup.key, record, about=step.about)
    return LayerRef.from_record(record), False, lookup.reason


def _begin(state: SolveState, step: LayerStep, after: Sequence[int]) -> int | None:
    """The step's span on the build's timeline (`builder.trace`), named by its step and line."""
    if state.timeline is None:
        return None
    return state.timeline.begin(f"{step.label} {step.text[:160]} (line {step.span.line})", after=after)


def _end(state: SolveState, run, step: LayerStep, span: int | None, *, cached: bool, failed: bool = False):
    if span is None:
        return
    state.timeline.end(span, cached=cached, failed=failed)
    run.solve.spans[step.node] = span
