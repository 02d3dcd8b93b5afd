"""The op graph the frontend lowers a build to: per stage, its steps in order and the image config it ends
with; layer steps carry the op that makes their layer.

A stage's edges are its base (an image, resolved before lowering, or another stage) and the trees its ops
read (`builder.ops.trees_of`): stages of the same build (``COPY --from``, ``RUN --mount from=``), images and
directories. Stages of several platforms of one build live in one graph, keyed by (platform, index).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.errors import Span
from builder.instructions.state import ImageState
from builder.ops import BaseImage, LayerOp
from builder.plan import Stage


@dataclass(frozen=True)
class StageKey:
    """A stage of one platform's plan: ``platform`` as the plan's platform string, ``index`` in the plan;
    ``scope`` names the build request it belongs to when one graph holds several (bake's targets)."""

    platform: str
    index: int
    scope: str = ""


@dataclass(frozen=True)
class ConfigStep:
    """A step that changes the image config only (no layer)."""

    label: str
    text: str
    span: Span


@dataclass(frozen=True)
class LayerStep:
    """A step that makes a layer through ``op``. ``identity`` names the step across builds (for the
    explanation of a miss), ``about`` the variables its text refers to ({name: [ARG|ENV, value]}),
    ``history_index`` its entry in its stage's history."""

    node: int
    op: LayerOp
    label: str
    text: str
    span: Span
    identity: str
    about: dict
    history_index: int


@dataclass
class LoweredStage:
    """One stage, lowered. ``state`` is the config and history it ends with (layer entries' times and the
    ``rootfs`` are the solver's to fill); ``chain`` lists the layer steps of the whole chain of stages it
    builds on, bottom first, and ``base`` the image at the chain's root (None: scratch)."""

    key: StageKey
    stage: Stage
    label: str
    base: BaseImage | None
    parent: StageKey | None
    steps: list[ConfigStep | LayerStep]
    state: ImageState
    chain: list[LayerStep] = field(default_factory=list)
    no_cache: bool = False

    def own_layer_steps(self) -> list[LayerStep]:
        return [s for s in self.steps if isinstance(s, LayerStep)]


@dataclass
class BuildGraph:
    """Every lowered stage of a build, in build order per platform, and each platform's target stage."""

    stages: dict[StageKey, LoweredStage]
    targets: list[StageKey]
