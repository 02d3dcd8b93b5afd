"""The plan's data: stages, their bases and dependencies, and the build-wide argument scope.

All classes are frozen; a `Plan` is computed once from a parsed Buildfile (``builder.plan.plan``) and read by
the outline command and the executor. Nothing here is expanded lazily: every name and reference in a `Plan`
is final, and a `Plan` that exists is valid (no unknown stage, no cycle, no unparsable base reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from builder.errors import Span
from builder.platforms import Platform
from builder.syntax.ast import Buildfile, From, Instruction

#: Build arguments every build accepts without an ARG line; BuildKit passes them to RUN only.
PROXY_ARGS = (
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
)  # fmt: skip

#: The PATH BuildKit gives a ``FROM scratch`` stage (its image config starts with it).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SourceKind(StrEnum):
    """Where a stage's base, or a ``--from``/``from=`` source, comes from."""

    IMAGE = "image"
    SCRATCH = "scratch"
    STAGE = "stage"


@dataclass(frozen=True, slots=True)
class Base:
    """A stage's base: ``written`` as in FROM, ``ref`` after expansion (an image reference as the user wrote
    it, ``scratch``, or the base stage's name); ``stage`` is the base stage's index for kind STAGE."""

    kind: SourceKind
    written: str
    ref: str
    stage: int | None = None


@dataclass(frozen=True, slots=True)
class Dependency:
    """An input a stage takes from outside itself.

    ``via`` is ``FROM``, ``COPY --from`` or ``RUN --mount``; ``ref`` is the value as written; ``stage`` is the
    index of the stage it names (kind STAGE), else None; ``span`` locates the instruction or flag.
    """

    kind: SourceKind
    ref: str
    via: str
    span: Span
    stage: int | None = None


@dataclass(frozen=True)
class Stage:
    """One ``FROM`` and the instructions up to the next one.

    ``name`` is lower case (None for an unnamed stage). ``platform`` is the stage's platform: the expanded
    ``FROM --platform``, the base stage's platform for a stage built on another, else the target platform.
    ``needed`` is True when the target depends on this stage (BuildKit skips the others entirely).
    """

    index: int
    name: str | None
    source: From
    base: Base
    platform: Platform
    platform_flag: str | None
    instructions: tuple[Instruction, ...]
    deps: tuple[Dependency, ...]
    needed: bool = False

    @property
    def label(self) -> str:
        """The name users see: the stage name, else ``stage-N`` as BuildKit prints it."""
        return self.name if self.name is not None else f"stage-{self.index}"

    @property
    def stage_deps(self) -> tuple[int, ...]:
        """Indexes of the stages this stage reads from (base, ``COPY --from``, mounts), sorted, no repeats."""
        return tuple(sorted({d.stage for d in self.deps if d.stage is not None}))


@dataclass(frozen=True)
class Plan:
    """The validated stage plan of one build.

    ``global_args`` are the ARGs before the first FROM with ``--build-arg`` applied (None: declared without a
    value and not given). ``global_scope`` is what FROM lines and a stage's bare ``ARG NAME`` see: the
    predefined platform ARGs and the global ARGs that have a value. ``proxy_env`` holds the proxy build
    arguments, which reach RUN's environment without an ARG line. ``target`` is the index of the target stage.
    """

    buildfile: Buildfile
    stages: tuple[Stage, ...]
    target: int
    platform: Platform
    build_platform: Platform
    build_args: Mapping[str, str] = field(default_factory=dict)
    global_args: Mapping[str, str | None] = field(default_factory=dict)
    global_scope: Mapping[str, str] = field(default_factory=dict)
    proxy_env: Mapping[str, str] = field(default_factory=dict)
    unused_build_args: tuple[str, ...] = ()

    def build_order(self) -> list[Stage]:
        """The needed stages, each after every stage it depends on (stable: by index where free)."""
        done: set[int] = set()
        order: list[Stage] = []
        for stage in self.stages:
            if not stage.needed or stage.index in done:
                continue
            # Depth first with its own stack (a chain of dependencies may be thousands of stages long): a
            # stage is placed once the iterator over its dependencies is exhausted.
            done.add(stage.index)
            stack = [(stage.index, iter(stage.stage_deps))]
            while stack:
                index, deps = stack[-1]
                dep = next(deps, None)
                if dep is None:
                    stack.pop()
                    order.append(self.stages[index])
                elif dep not in done:
                    done.add(dep)
                    stack.append((dep, iter(self.stages[dep].stage_deps)))
        return order

    def root_kind(self, stage: Stage) -> SourceKind:
        """IMAGE or SCRATCH: what the chain of stage bases under ``stage`` starts from."""
        while stage.base.kind is SourceKind.STAGE:
            stage = self.stages[stage.base.stage or 0]
        return stage.base.kind
