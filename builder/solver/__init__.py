"""The solver: schedules a build's op graph — ready steps at once, bounded by ``--jobs`` — keys each step
from its op, asks the cache, runs misses through the effects, commits their layers, and exports the shared
cache. Tested without root through `builder.effects.recording.RecordingEffects`.

`solve_graph` is the entry point; ``scheduler.py`` runs tasks and continuations, ``solve.py`` walks the
stages, ``step.py`` is one layer step, ``commit.py`` turns an upperdir into a layer of the store.
"""

from __future__ import annotations

from pathlib import Path

from builder.errors import BuildError
from builder.frontend.graph import BuildGraph
from builder.sharedcache.errors import RemoteLayerFailed
from builder.solver.jobs import default_jobs
from builder.solver.scheduler import Scheduler
from builder.solver.solve import Solve, Solved
from builder.solver.step import StepSession

__all__ = ["Solved", "default_jobs", "solve_graph"]


def solve_graph(graph: BuildGraph, session: StepSession, *, jobs: int | None = None, trace: Path | None = None):
    """Build every stage of ``graph``; the targets' layers are local when it returns.

    A layer promised by a ``--cache-from`` record that cannot be fetched makes the session forget that
    record and the graph is solved again: the step that made the layer now runs, earlier steps hit locally.
    With ``trace``, the timeline of the (last) solve is written there, whatever the outcome."""
    from builder.trace import Timeline

    while True:
        scheduler = Scheduler(jobs or default_jobs())
        session.scheduler = scheduler
        session.timeline = Timeline() if trace is not None else None
        try:
            solved = Solve(graph, session, scheduler).run()
            for key in graph.targets:
                session.effects.fetch_layers(solved.results[key].diff_ids)
            return solved
        except RemoteLayerFailed as failure:
            if not session.shared.forget(failure.diff_id, str(failure)):
                raise BuildError(str(failure)) from None
            session.reporter.info(f"warning: {failure}; building without that cache record")
            session.restart()
            session.shared.restart()
        finally:
            if trace is not None and session.timeline is not None:
                session.timeline.write(trace)
