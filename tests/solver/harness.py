"""Solving a Buildfile through `RecordingEffects` with a real store in a temporary directory: the solver's
decisions, tested without root."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from builder.buildtypes import BuildOptions
from builder.cache import BuildCache
from builder.effects.recording import RecordingEffects
from builder.frontend.graph import BuildGraph
from builder.frontend.lower import LowerOptions, lower
from builder.plan import SourceKind, plan
from builder.platforms import Platform
from builder.sharedcache.session import SharedCache
from builder.solver import solve_graph
from builder.solver.step import StepSession
from builder.store import Store
from builder.syntax import parse
from builder.ui import Reporter

CREATED = "2024-01-01T00:00:00Z"


@dataclass
class Outcome:
    graph: BuildGraph
    solved: object
    effects: RecordingEffects
    reporter_text: str

    def records(self) -> list:
        return [record for key in self.graph.stages for record in self.solved.steps[key]]

    def layer_records(self) -> list:
        return [record for record in self.records() if record.layer is not None]

    def final(self, platform_index: int = 0):
        return self.solved.results[self.graph.targets[platform_index]]


@dataclass
class Solver:
    """Builds Buildfile texts in one store, as successive builds would."""

    root: Path
    images: dict = field(default_factory=dict)
    #: the effects of the last solve, whether it succeeded or not
    last_effects: RecordingEffects | None = None

    def solve(
        self,
        text: str,
        *,
        platforms: tuple[str, ...] = ("linux/amd64",),
        jobs: int = 4,
        no_cache: bool = False,
        no_cache_filter: tuple[str, ...] = (),
        fail=lambda op: None,
        delay=lambda op: 0.0,
        read_fail=lambda op: None,
        read_delay=lambda op: 0.0,
        trace: Path | None = None,
        target: str | None = None,
    ) -> Outcome:
        import io

        buildfile = parse(text, "Buildfile")
        plans = [
            plan(
                buildfile,
                target=target,
                platform=Platform.parse(p),
                build_platform=Platform.parse("linux/amd64"),
            )
            for p in platforms
        ]
        stream = io.StringIO()
        reporter = Reporter("plain", stream)
        with Store.open(self.root) as store:
            effects = self.last_effects = RecordingEffects(
                store, self.images, fail=fail, delay=delay, read_fail=read_fail, read_delay=read_delay
            )
            bases = {}
            from builder.frontend.graph import StageKey

            for the_plan in plans:
                for stage in the_plan.build_order():
                    if stage.base.kind is SourceKind.IMAGE:
                        bases[StageKey(str(the_plan.platform), stage.index)] = effects.base_image(
                            stage.base.ref, stage.platform
                        )
            options = LowerOptions(context="/context", created=CREATED, no_cache_filter=no_cache_filter)
            graph = lower(plans, bases, options)
            build_options = BuildOptions(context=Path("/context"), no_cache=no_cache)
            shared = SharedCache(store, [], [], progress="quiet", warn=reporter.info)
            cache = BuildCache(store, enabled=not no_cache)
            session = StepSession(store, cache, shared, effects, reporter, build_options, None, CREATED)
            try:
                solved = solve_graph(graph, session, jobs=jobs, trace=trace)
            finally:
                reporter.close()
        return Outcome(graph, solved, effects, stream.getvalue())
