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
from pathlib import Path

from builder.buildfile import read_buildfile
from builder.buildtypes import BuildOptions, BuildResult, StageResult, StepReport
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
    workdir,
)
from builder.instructions.state import ImageState
from builder.instructions.workdir import clean as clean_workdir
from builder.instructions.workdir import resolve as resolve_workdir
from builder.plan import Plan, Resolver, SourceKind, Stage, plan
from builder.platforms import Platform, parse_platforms
from builder.sharedcache.errors import RemoteLayerFailed
from builder.steps import StepRunner
from builder.syntax import ast, parse
from builder.ui import Reporter

__all__ = ["BuildOptions", "BuildResult", "StageResult", "StepReport", "build"]


def _shorten(path: str, keep: int = 100) -> str:
    """``path`` for a message: a very long one (a context nested thousands deep) as its two ends."""
    return path if len(path) <= 2 * keep + 1 else f"{path[:keep]}…{path[-keep:]}"


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
    the store stays consistent whatever happens.

    Each platform of ``options.platform`` (comma-separated; default the host's) is planned and built on its
    own, sharing the store and the cache; see `builder.publish` for what one or several results become. RUN
    steps of a stage whose platform the host cannot execute are refused before any step runs."""
    from builder.attest.outputs import statement_source
    from builder.frontendcheck import frontend_warning
    from builder.namedcontexts import base_images
    from builder.oci.config import format_time
    from builder.oci.index import ImageIndex, commit_index
    from builder.parsecache import ParseCache
    from builder.publish import commit_final, made_layers, write_outputs
    from builder.store import Store, default_root

    reporter = reporter or Reporter("quiet")
    platforms = requested_platforms(options.platform)
    check_request(options, platforms)
    if options.buildfile_text is not None:
        text, name = options.buildfile_text, str(options.buildfile or "Buildfile")
    else:
        name, text = read_buildfile(options.buildfile, options.context, shown=options.buildfile_name)
    # an unchanged Buildfile is read back from the store as parsed by an earlier build (see builder.parsecache);
    # the store is only opened below, after the Buildfile has been found valid, as before
    parsed = ParseCache((Path(options.root) if options.root else default_root()) / "state" / "parse")
    buildfile = parsed.load(text, name)
    fresh = buildfile is None
    if buildfile is None:
        buildfile = parse(text, name)
    warning = frontend_warning(buildfile)
    if warning:
        reporter.info(warning)
    plans = [
        plan(
            buildfile,
            build_args=options.build_args,
            target=options.target,
            platform=platform,
            contexts=base_images(options.named_contexts),
        )
        for platform in platforms
    ]
    check_runnable(plans)
    epoch = source_date_epoch(options.build_args)
    created = format_time(epoch if epoch is not None else time.time())
    several = len(plans) > 1
    with Store.open(options.root) as store, store.lock("gc", shared=True):
        if fresh:
            ParseCache(store.state_dir("parse")).save(text, name, buildfile)
        from builder.checks.session import warn_before_build
        from builder.userpaths import default_buildfile

        # the file itself (not its name as shown), for the checks' <Buildfile>.dockerignore
        source = None
        if options.buildfile_text is None:
            source = Path(options.buildfile) if options.buildfile else default_buildfile(Path(options.context))

        warn_before_build(buildfile, text, source, plans, options, platforms, store, reporter)
        statements = statement_source(store, options, plans, name, text, epoch)
        runner = StepRunner(store, options, reporter, epoch=epoch, stages=plans[0].stages)
        runner.start()
        try:  # the runner stays open until the cache export, which may fetch layers still remote
            images, finals, reports = [], [], []
            for the_plan in plans:
                runner.plan_stages = the_plan.stages
                label = str(the_plan.platform) if several else None
                final, plan_reports = _build_stages(the_plan, runner, created, label)
                reports.extend(plan_reports)
                finals.append(final)
                tags = [] if several else options.tags
                images.append(commit_final(store, final, created, options.labels, tags))
            result = images[0]
            if several:
                result = commit_index(store, images, platforms=platforms, tags=options.tags)
            # an image output made over (compression, media types, annotations) is what the build reports,
            # as buildx's metadata names the image it stored or pushed
            made = made_layers(finals)
            result = (
                write_outputs(store, result, options, reporter, made, statements, platforms, epoch) or result
            )
            runner.export_cache([f.state.layers for f in finals])
        finally:
            runner.finish()
        layer_steps = [r for r in reports if r.layer is not None]
        ran = sum(not r.cached for r in layer_steps)
        if several:
            digest, image_id, size = result.digest, result.digest, result.size
        elif isinstance(result, ImageIndex):  # one image with its attestations: buildx reports the index
            digest, image_id, size = result.digest, result.images[0].id, result.images[0].size
        else:
            digest, image_id, size = result.manifest_digest, result.id, result.size
        reporter.summary(ran, len(layer_steps) - ran, image_id, size)
        per_platform = {str(p.platform): image.manifest_digest for p, image in zip(plans, images, strict=True)}
        return BuildResult(digest, image_id, size, reports, per_platform)


def check_request(options: BuildOptions, platforms: list[Platform]) -> None:
    """Refuse bad ``-t`` names, a nameless ``--push`` and outputs that cannot hold the result before any
    step runs, not after the last one."""
    from builder.refs import parse_ref

    for tag in options.tags:
        parse_ref(tag)  # raises a UsageError (exit 2) with Docker's wording
    from builder.outputspec import check_outputs

    epoch_set = source_date_epoch(options.build_args) is not None
    check_outputs(options.outputs, tags=options.tags, several=len(platforms) > 1, epoch_set=epoch_set)


def requested_platforms(requested: str | None) -> list[Platform]:
    """The platforms a ``--platform`` value asks for (default: the host's alone)."""
    if not requested or not requested.strip():
        return [Platform.host()]
    return parse_platforms(requested)


def check_runnable(plans: list[Plan]) -> None:
    """Refuse, before anything runs, a build whose RUN steps need an emulator this host lacks; the error
    points at the first such RUN. Stages on ``FROM --platform=$BUILDPLATFORM`` run natively."""
    from builder import emulation

    checked: set[Platform] = set()
    for the_plan in plans:
        for stage in the_plan.build_order():
            first_run = next((i for i in stage.instructions if isinstance(i, ast.Run)), None)
            if first_run is None or stage.platform in checked:
                continue
            emulation.require(stage.platform, first_run.span)
            checked.add(stage.platform)


def _build_stages(
    the_plan: Plan, runner: StepRunner, created: str, platform_label: str | None = None
) -> tuple[StageResult, list[StepReport]]:
    """Build the needed stages; returns the target's result (its layers all local) and the step reports.

    A layer promised by a ``--cache-from`` record that cannot be fetched makes the runner forget that record
    and the stages are built again: the step that made the layer now runs, earlier steps hit locally."""
    while True:
        results: dict[int, StageResult] = {}
        reports: list[StepReport] = []
        resolver = Resolver(the_plan)  # one for all stages: it keeps each stage's final environment
        try:
            for stage in the_plan.build_order():
                builder = StageBuilder(
                    the_plan,
                    stage,
                    runner,
                    results,
                    created=created,
                    platform_label=platform_label,
                    resolver=resolver,
                )
                results[stage.index] = builder.run(reports)
            final = results[the_plan.target]
            runner.fetch_layers(final.state.layers)
            return final, reports
        except RemoteLayerFailed as failure:
            runner.restart(failure)


class StageBuilder:
    """Builds one stage: resolves its base, then applies each instruction in order."""

    def __init__(
        self,
        the_plan: Plan,
        stage: Stage,
        runner: StepRunner,
        results: dict[int, StageResult],
        *,
        created: str,
        platform_label: str | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.resolver = resolver or Resolver(the_plan)
        self.platform_label = platform_label  # set when building several platforms: steps name their platform
        self.plan = the_plan
        self.stage = stage
        self.runner = runner
        self.results = results
        self.created = created

    def _base(self) -> StageResult:
        from builder.namedcontexts import pull_policy
        from builder.oci.config import new_config
        from builder.registry.progress import Transfers
        from builder.registry.pull import ensure_image

        base = self.stage.base
        platform = self.stage.platform
        if base.kind is SourceKind.STAGE:
            parent = self.results[base.stage or 0]
            return StageResult(
                parent.state.copy(),
                list(parent.layers),
                dict(parent.args),
                parent.chain_key,
                parent.root_env,
                # the values reach this stage's RUN steps, but BuildKit's history lists this stage's own ARGs
                [],
            )
        if base.kind is SourceKind.SCRATCH:
            state = ImageState(new_config(platform, created=self.created))
            state.ensure_default_path()
            state.config["WorkingDir"] = "/"  # BuildKit's empty image has it
            return StageResult(state, [], {}, f"scratch:{platform}", {})
        named = self.runner.options.named_contexts.get(base.ref)
        try:
            if named is not None and named.directory is not None:
                from builder.namedcontexts import directory_image

                image = directory_image(self.runner.store, named, platform)
            else:
                image = ensure_image(
                    self.runner.store,
                    base.ref,
                    pull=pull_policy(base.ref, self.runner.options.pull),
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
        resolver = self.resolver
        step_env = resolver.start_env(self.stage, result.root_env)
        step_env.update(result.args)
        total = len(self.stage.instructions) + 1
        for number, instruction in enumerate(self._with_triggers(triggers), start=2):
            step = resolver.resolve(instruction, step_env)
            prefix = f"{self._platform_prefix()} " if self.platform_label else ""
            label_text = f"[{prefix}{self.stage.label} {min(number, total)}/{total}]"
            started = time.monotonic()
            try:
                report = self._apply(step, result, label_text, step_env)
            except BuildError as error:
                self.runner.reporter.failed(error.message)
                raise error.with_span(instruction.span) from None
            except OSError as error:
                # the machine refused something during this step (a context file vanished, I/O error):
                # say which step, where
                detail = error.strerror or str(error)
                where = f": {_shorten(os.fsdecode(error.filename))}" if error.filename else ""
                raise BuildError(f"{instruction.keyword}: {detail}{where}", instruction.span) from None
            report.seconds = time.monotonic() - started
            reports.append(report)
            step_env.update(step.sets)
            if isinstance(instruction, ast.Arg):
                result.args.update(step.sets)
                result.declared += [d.name for d in instruction.args if d.name not in result.declared]
        return result

    def _platform_prefix(self) -> str:
        """BuildKit's step prefix when building several platforms: the stage's platform, and ``->ARCH`` of
        the target when the stage runs on another (``linux/amd64->arm64`` for a BUILDPLATFORM stage)."""
        own, target = self.stage.platform, self.plan.platform
        if own == target:
            return str(own)
        return f"{own}->{target.architecture}" + (f"/{target.variant}" if target.variant else "")

    def _with_triggers(self, triggers: list[str]) -> list[ast.Instruction]:
        """ONBUILD triggers of the base image run first, as BuildKit runs them."""
        parsed: list[ast.Instruction] = []
        for trigger in triggers:
            buildfile = parse(f"FROM scratch\n{trigger}\n", f"{self.stage.source.image} ONBUILD")
            parsed.extend(buildfile.instructions[1:])
        if any(isinstance(trigger, ast.Run) for trigger in parsed):
            # `check_runnable` could not see these before the base was read: check now, before any trigger runs
            from builder import emulation

            emulation.require(self.stage.platform, self.stage.source.span)
        return [*parsed, *self.stage.instructions]

    def _apply(self, step, result: StageResult, label_text: str, step_env: dict[str, str]) -> StepReport:
        ins = step.instruction
        state = result.state
        written = ins.original.strip()
        reporter = self.runner.reporter
        stage_label = self.stage.label
        reporter.step(label_text, written)
        if isinstance(ins, ast.Workdir) and clean_workdir(resolve_workdir(state.workdir, step.args[0])) == "/":
            # BuildKit makes no layer for the root directory, which always exists
            state.add_history(workdir.apply(state, step.args[0]), created=None, empty_layer=True)
            return StepReport(stage_label, ins.span.line, written, False, "config", 0.0)
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
            case ast.Arg():
                return arg.history_text(list(step.defaults))
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
