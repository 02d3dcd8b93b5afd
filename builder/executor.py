"""The step loop: parse, plan, then for each needed stage and each instruction — key → hit? reuse : run →
commit.

`build` is the whole build; `StageBuilder` runs one stage. Config-only instructions change the image config
through ``builder.instructions``; RUN, COPY, ADD and WORKDIR produce layers through ``builder.steps``. Any
`BuildError` raised by a step gets that step's span attached, so the user sees where in the Buildfile it
failed.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from builder.buildfile import read_buildfile
from builder.cachex.errors import RemoteLayerFailed
from builder.errors import BuildError, UsageError
from builder.instructions import (
    arg,
    cmd,
    entrypoint,
    env,
    expose,
    healthcheck,
    label,
    maintainer,
    onbuild,
    shell,
    stopsignal,
    user,
    volume,
)
from builder.instructions.state import ImageState
from builder.plan import Plan, Resolver, SourceKind, Stage, plan
from builder.steps import StepRunner
from builder.syntax import ast, parse
from builder.ui import Reporter


@dataclass
class BuildOptions:
    """What a build is asked to do. ``buildfile`` None means ``CONTEXT/Buildfile`` (else ``Dockerfile``);
    ``buildfile_text`` overrides reading it (``-f -``)."""

    context: Path
    buildfile: Path | None = None
    buildfile_text: str | None = None
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    no_cache_filter: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    network: str = "default"
    root: str | None = None
    compression: str = "gzip"
    outputs: list[dict[str, str]] = field(default_factory=list)
    pull: str = "missing"
    platform: str | None = None
    #: ``--secret`` sources (`builder.mounts.SecretSource`), ``--ssh`` agents (`SshSource`), ``--allow``
    #: entitlements (``security.insecure``, ``network.host``).
    secrets: list = field(default_factory=list)
    ssh: list = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    #: ``--cache-from`` / ``--cache-to`` locations (`builder.cachex.spec.CacheSpec`), imports tried in order.
    cache_from: list = field(default_factory=list)
    cache_to: list = field(default_factory=list)


@dataclass
class StepReport:
    """One step of a finished build, as the API returns it."""

    stage: str
    line: int
    text: str
    cached: bool
    reason: str
    seconds: float
    layer: dict | None = None


@dataclass
class BuildResult:
    manifest_digest: str
    image_id: str
    size: int
    steps: list[StepReport]


@dataclass
class StageResult:
    """A built stage: its image state, layer descriptors (bottom first), ARG values and cache chain key."""

    state: ImageState
    layers: list[dict]
    args: dict[str, str]
    chain_key: str
    root_env: dict[str, str] | None


def source_date_epoch(build_args: dict[str, str]) -> int | None:
    """SOURCE_DATE_EPOCH from the build args, else the environment; None when unset."""
    value = build_args.get("SOURCE_DATE_EPOCH") or os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"invalid SOURCE_DATE_EPOCH: {value!r} (expected an integer)") from None


def build(options: BuildOptions, reporter: Reporter | None = None) -> BuildResult:
    """Run a whole build and tag its result. Raises `BuildError` (located where it can be) on failure;
    the store stays consistent whatever happens."""
    from builder.oci.config import format_time
    from builder.oci.image import commit_image
    from builder.oci.manifest import descriptor
    from builder.store import Store

    reporter = reporter or Reporter("quiet")
    check_platform(options.platform)
    if options.buildfile_text is not None:
        text, name = options.buildfile_text, str(options.buildfile or "Buildfile")
    else:
        name, text = read_buildfile(options.buildfile, options.context)
    buildfile = parse(text, name)
    the_plan = plan(buildfile, build_args=options.build_args, target=options.target)
    epoch = source_date_epoch(options.build_args)
    created = format_time(epoch if epoch is not None else time.time())
    with Store.open(options.root) as store, store.lock("gc", shared=True):
        runner = StepRunner(store, options, reporter, epoch=epoch, stages=the_plan.stages)
        runner.start()
        try:  # the runner stays open until the cache export, which may fetch layers still remote
            final, reports = _build_stages(the_plan, runner, created)
            final.state.fill_history_times(created)
            document = copy.deepcopy(final.state.document)
            if options.labels:
                document.setdefault("config", {}).setdefault("Labels", {}).update(options.labels)
            # fresh descriptors: a cache record's copy may list its fields in another order
            layers = [
                descriptor(d["mediaType"], d["digest"], d["size"], annotations=d.get("annotations"))
                for d in final.layers
            ]
            image = commit_image(store, document, layers, tags=options.tags)
            _write_outputs(store, image, options, reporter)
            runner.export_cache(final.state.layers)
        finally:
            runner.finish()
        layer_steps = [r for r in reports if r.layer is not None]
        ran = sum(not r.cached for r in layer_steps)
        reporter.summary(ran, len(layer_steps) - ran, image.id, image.size)
        return BuildResult(image.manifest_digest, image.id, image.size, reports)


def _build_stages(the_plan: Plan, runner: StepRunner, created: str) -> tuple[StageResult, list[StepReport]]:
    """Build the needed stages; returns the target's result (its layers all local) and the step reports.

    A layer promised by a ``--cache-from`` record that cannot be fetched makes the runner forget that record
    and the stages are built again: the step that made the layer now runs, earlier steps hit locally."""
    while True:
        results: dict[int, StageResult] = {}
        reports: list[StepReport] = []
        try:
            for stage in the_plan.build_order():
                builder = StageBuilder(the_plan, stage, runner, results, created=created)
                results[stage.index] = builder.run(reports)
            final = results[the_plan.target]
            runner.fetch_layers(final.state.layers)
            return final, reports
        except RemoteLayerFailed as failure:
            runner.restart(failure)


def _write_outputs(store, image, options: BuildOptions, reporter: Reporter) -> None:
    from builder.outputs import export
    from builder.refs import parse_ref

    refs = [parse_ref(tag) for tag in options.tags]
    for output in options.outputs:
        if output["type"] == "registry":  # the registry client shows its own transfer bars
            from builder.registry.push import push_image

            if not refs:
                raise UsageError("--push needs a name: give -t REGISTRY/NAME:TAG")
            for ref in refs:
                push_image(store, image, ref)
        elif output["type"] != "image":
            reporter.info(f"exporting to {output['type']}: {output.get('dest', '')}")
            with reporter.progress(f"exporting {output['type']}") as advance:
                export(store, image, refs, output, advance)


def check_platform(requested: str | None) -> None:
    """Only the host's platform can be built for now; say so clearly for any other."""
    from builder.plan import Platform

    if not requested:
        return
    host = Platform.host()
    for text in requested.split(","):
        if Platform.parse(text.strip()) != host:
            raise UsageError(
                f"cannot build for platform {text.strip()}: only the host's platform ({host}) is supported"
            )


class StageBuilder:
    """Builds one stage: resolves its base, then applies each instruction in order."""

    def __init__(
        self, the_plan: Plan, stage: Stage, runner: StepRunner, results: dict[int, StageResult], *, created: str
    ) -> None:
        self.plan = the_plan
        self.stage = stage
        self.runner = runner
        self.results = results
        self.created = created

    def _base(self) -> StageResult:
        from builder.oci.config import new_config
        from builder.registry.progress import Transfers
        from builder.registry.pull import ensure_image

        base = self.stage.base
        platform = self.stage.platform
        if base.kind is SourceKind.STAGE:
            parent = self.results[base.stage or 0]
            return StageResult(
                parent.state.copy(), list(parent.layers), dict(parent.args), parent.chain_key, parent.root_env
            )
        if base.kind is SourceKind.SCRATCH:
            state = ImageState(new_config(platform, created=self.created))
            state.ensure_default_path()
            return StageResult(state, [], {}, f"scratch:{platform}", {})
        try:
            image = ensure_image(
                self.runner.store,
                base.ref,
                pull=self.runner.options.pull,
                platform=platform,
                progress=Transfers(self.runner.reporter.mode),
            )
        except BuildError as error:
            raise error.with_span(self.stage.source.span) from None
        state = ImageState(copy.deepcopy(image.config))
        state.layers = list(image.diff_ids)
        state.base_history = len(state.document.get("history") or [])
        root_env = state.env()
        state.ensure_default_path()
        layers = [{**desc, "diff_id": d} for desc, d in zip(image.layers, image.diff_ids, strict=True)]
        for diff_id in image.diff_ids:
            if not self.runner.store.has_layer(diff_id):
                message = f"layer {diff_id} of {base.ref} is not unpacked in the store"
                raise BuildError(message, self.stage.source.span)
        return StageResult(state, layers, {}, f"image:{image.manifest_digest}:{platform}", root_env)

    def run(self, reports: list[StepReport]) -> StageResult:
        result = self._base()
        # the base's ONBUILD triggers run first and are consumed, whether the base is an image or a stage
        triggers = list(result.state.config.pop("OnBuild", None) or [])
        resolver = Resolver(self.plan)
        step_env = resolver.start_env(self.stage, result.root_env)
        step_env.update(result.args)
        total = len(self.stage.instructions) + 1
        for number, instruction in enumerate(self._with_triggers(triggers), start=2):
            step = resolver.resolve(instruction, step_env)
            label_text = f"[{self.stage.label} {min(number, total)}/{total}]"
            started = time.monotonic()
            try:
                report = self._apply(step, result, label_text, step_env)
            except BuildError as error:
                raise error.with_span(instruction.span) from None
            report.seconds = time.monotonic() - started
            reports.append(report)
            step_env.update(step.sets)
            if isinstance(instruction, ast.Arg):
                result.args.update(step.sets)
        return result

    def _with_triggers(self, triggers: list[str]) -> list[ast.Instruction]:
        """ONBUILD triggers of the base image run first, as BuildKit runs them."""
        parsed: list[ast.Instruction] = []
        for trigger in triggers:
            buildfile = parse(f"FROM scratch\n{trigger}\n", f"{self.stage.source.image} ONBUILD")
            parsed.extend(buildfile.instructions[1:])
        return [*parsed, *self.stage.instructions]

    def _apply(self, step, result: StageResult, label_text: str, step_env: dict[str, str]) -> StepReport:
        ins = step.instruction
        state = result.state
        written = ins.original.strip()
        reporter = self.runner.reporter
        stage_label = self.stage.label
        reporter.step(label_text, written)
        if isinstance(ins, ast.Run | ast.CopyLike | ast.Workdir):
            return self.runner.layer_step(self.stage, step, result, step_env, self.results, self.created)
        created_by = self._config_step(ins, step, result)
        if not isinstance(ins, ast.Onbuild):  # BuildKit records no history for ONBUILD
            state.add_history(created_by, created=None, empty_layer=True)
        return StepReport(stage_label, ins.span.line, written, False, "config", 0.0)

    def _config_step(self, ins: ast.Instruction, step, result: StageResult) -> str:
        state = result.state
        args = list(step.args)
        match ins:
            case ast.Env():
                return env.apply(state, list(step.sets))
            case ast.Label():
                return label.apply(state, [tuple(a.split("=", 1)) for a in args])
            case ast.Arg(args=decls):
                return arg.history_text([(d.name, d.default) for d in decls])
            case ast.Maintainer():
                return maintainer.apply(state, args[0])
            case ast.User():
                return user.apply(state, args[0])
            case ast.Volume():
                return volume.apply(state, args)
            case ast.Shell():
                return shell.apply(state, args)
            case ast.Onbuild():
                return onbuild.apply(state, args[0])
            case ast.Expose():
                return expose.apply(state, args)
            case ast.Stopsignal():
                return stopsignal.apply(state, args[0])
            case ast.Cmd(command=command):
                return cmd.apply(state, list(command.args), command.exec_form)
            case ast.Entrypoint(command=command):
                return entrypoint.apply(state, list(command.args), command.exec_form)
            case ast.Healthcheck(command=command):
                options = {f.name: f.value for f in ins.flags}
                if command is None:
                    return healthcheck.apply(state, None, False, options)
                return healthcheck.apply(state, list(command.args), command.exec_form, options)
        raise BuildError(f"{ins.keyword} is not supported")
