"""The solver: schedules a build's op graph — ready steps at once, bounded by ``--jobs`` — keys each step
from its op, asks the cache, runs misses through the effects, commits their layers, and exports the shared
cache. Tested without root through `builder.effects.recording.RecordingEffects`.

`solve_graph` is the entry point; ``scheduler.py`` runs tasks and continuations, ``solve.py`` walks the
stages, ``step.py`` is one layer step, ``commit.py`` turns an upperdir into a layer of the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from builder.errors import BuildError
from builder.frontend.graph import BuildGraph
from builder.sharedcache.errors import RemoteLayerFailed
from builder.solver.jobs import default_jobs
from builder.solver.scheduler import Scheduler
from builder.solver.solve import Solve, Solved, StepFailed
from builder.solver.step import SolveState, StepSession

__all__ = ["Solved", "StepFailed", "default_jobs", "solve_graph"]


def solve_graph(
    graph: BuildGraph,
    session: StepSession,
    *,
    jobs: int | None = None,
    trace: Path | None = None,
    scoped: Mapping[str, StepSession] | None = None,
):
    """Build every stage of ``graph``; the targets' layers are local when it returns.

    ``scoped`` gives each build request of a graph of several its own session (its effects, options and
    caches; default: ``session`` for all); what one solve learns (identical steps, where chains came from)
    is shared between them. A failing step of a request other than "" raises `StepFailed` naming it.

    A layer promised by a ``--cache-from`` record that cannot be fetched makes the session forget that
    record and the graph is solved again: the step that made the layer now runs, earlier steps hit locally.
    With ``trace``, the timeline of the (last) solve is written there, whatever the outcome."""
    from builder.trace import Timeline

    sessions = dict(scoped or {})
    sessions.setdefault("", session)
    while True:
        state = SolveState(Scheduler(jobs or default_jobs()), Timeline() if trace is not None else None)
        try:
            solved = Solve(graph, session, state, sessions).run()
            for key in graph.targets:
                sessions.get(key.scope, session).effects.fetch_layers(solved.results[key].diff_ids)
            return solved
        except StepFailed as failed:
            if failed.scope == "":
                raise failed.error from None
            raise
        except RemoteLayerFailed as failure:
            owner = next((s for s in sessions.values() if s.shared.forget(failure.diff_id, str(failure))), None)
            if owner is None:
                raise BuildError(str(failure)) from None
            session.reporter.info(f"warning: {failure}; building without that cache record")
            for each in sessions.values():
                each.shared.restart()
        finally:
            if trace is not None and state.timeline is not None:
                state.timeline.write(trace)
