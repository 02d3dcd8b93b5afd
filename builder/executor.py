"""A whole build: read and parse the Buildfile, plan each platform, read the base images, lower everything
to one op graph (`builder.frontend`), solve it concurrently (`builder.solver`) through the machine's
effects (`builder.effects.host`), then commit, tag and send out the result (`builder.publish`).

`build` is the entry point of the CLI and the Python API.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from builder.buildfile import read_buildfile
from builder.buildtypes import BuildOptions, BuildResult, StepReport
from builder.errors import BuildError, UsageError
from builder.plan import Plan, SourceKind
from builder.platforms import Platform, parse_platforms
from builder.syntax import ast, parse
from builder.ui import Reporter

__all__ = ["BuildOptions", "BuildResult", "StepReport", "build", "build_requests"]


def source_date_epoch(build_args: dict[str, str]) -> int | None:
    """SOURCE_DATE_EPOCH from the build args, else the environment; None when unset."""
    value = build_args.get("SOURCE_DATE_EPOCH") or os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"invalid SOURCE_DATE_EPOCH: {value!r} (expected an integer)") from None


@dataclass
class Request:
    """One build request read and planned, ready to be lowered: ``scope`` names it in a graph of several
    (bake's target name; "" for a lone build)."""

    scope: str
    options: BuildOptions
    text: str
    name: str
    buildfile: object
    fresh: bool
    source: Path | None
    platforms: list[Platform]
    plans: list[Plan]
    epoch: int | None
    created: str
    #: when the request was read (provenance's buildStartedOn)
    started: float = 0.0


def build(options: BuildOptions, reporter: Reporter | None = None) -> BuildResult:
    """Run a whole build and tag its result. Raises `BuildError` (located where it can be) on failure;
    the store stays consistent whatever happens.

    Each platform of ``options.platform`` (comma-separated; default the host's) is planned on its own; all
    are lowered into one graph and solved together, sharing the store and the cache; see `builder.publish`
    for what one or several results become. RUN steps of a stage whose platform the host cannot execute are
    refused before any step runs."""
    return build_requests([("", options)], reporter)[""]


def build_requests(
    requests: list[tuple[str, BuildOptions]],
    reporter: Reporter | None = None,
    *,
    name_failure: Callable[[str, BuildError], BuildError] | None = None,
) -> dict[str, BuildResult]:
    """Build several requests (bake's targets) as one graph in one solve: identical steps run once, and
    independent ones at the same time. All share one store (the first request's ``root``). Returns each
    request's result by its name. ``name_failure(name, error)`` makes the error a failing request raises
    say which one it was (default: the error as it is)."""
    from builder.store import Store

    reporter = reporter or Reporter("quiet")
    name_failure = name_failure or (lambda _name, error: error)
    prepared = []
    for scope, options in requests:
        try:
            prepared.append(_prepare(scope, options, reporter))
        except BuildError as error:
            raise name_failure(scope, error) from None
    root = requests[0][1].root if requests else None
    try:
        with Store.open(root, form=requests[0][1].layer_form) as store, store.lock("gc", shared=True):
            for request in prepared:
                try:
                    _check_in_store(store, request, reporter)
                except BuildError as error:
                    raise name_failure(request.scope, error) from None
            return _build_in_store(store, prepared, reporter, name_failure)
    finally:
        reporter.close()  # the terminal view is erased before the CLI prints an error


def _prepare(scope: str, options: BuildOptions, reporter: Reporter) -> Request:
    """Read, parse and plan one request; refuse what can be refused before the store is opened."""
    from builder.frontendcheck import frontend_warning
    from builder.namedcontexts import base_images
    from builder.oci.config import format_time
    from builder.parsecache import ParseCache
    from builder.plan import plan
    from builder.store import default_root
    from builder.userpaths import default_buildfile

    platforms = requested_platforms(options.platform)
    check_request(options, platforms)
    if options.buildfile_text is not None:
        text, name = options.buildfile_text, str(options.buildfile or "Buildfile")
    else:
        name, text = read_buildfile(options.buildfile, options.context, shown=options.buildfile_name)
    # an unchanged Buildfile is read back from the store as parsed by an earlier build (see builder.parsecache);
    # the store is only opened after the Buildfile has been found valid
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
    # the file itself (not its name as shown), for the checks' <Buildfile>.dockerignore
    source = None
    if options.buildfile_text is None:
        source = Path(options.buildfile) if options.buildfile else default_buildfile(Path(options.context))
    return Request(
        scope, options, text, name, buildfile, fresh, source, platforms, plans, epoch, created, time.time()
    )


def _check_in_store(store, request: Request, reporter: Reporter) -> None:
    """Keep a freshly parsed Buildfile; print the build checks' findings (or fail on them)."""
    from builder.checks.session import warn_before_build
    from builder.parsecache import ParseCache

    if request.fresh:
        ParseCache(store.state_dir("parse")).save(request.text, request.name, request.buildfile)
    warn_before_build(
        request.buildfile,
        request.text,
        request.source,
        request.plans,
        request.options,
        request.platforms,
        store,
        reporter,
    )


@dataclass
class _Open:
    """A request's part of the solve: its effects, caches and session."""

    request: Request
    shared: object
    effects: object
    session: object


def _build_in_store(store, prepared: list[Request], reporter, name_failure) -> dict[str, BuildResult]:
    from builder.cache import BuildCache
    from builder.effects.host import HostEffects
    from builder.frontend.graph import BuildGraph
    from builder.sharedcache.session import SharedCache
    from builder.solver import StepFailed, solve_graph
    from builder.solver.step import StepSession

    opened: list[_Open] = []
    try:
        graph = BuildGraph({}, [])
        for request in prepared:
            options = request.options
            shared = SharedCache(
                store,
                options.cache_from,
                options.cache_to,
                progress=reporter.mode,
                warn=reporter.info,
                registry=options.registry,
                compression=options.compression,
            )
            cache = BuildCache(
                store, enabled=not options.no_cache, remote=shared if options.cache_from else None
            )
            effects = HostEffects(store, options, shared, epoch=request.epoch, transfers=reporter.transfers)
            session = StepSession(
                store, cache, shared, effects, reporter, options, request.epoch, request.created
            )
            opened.append(_Open(request, shared, effects, session))
            effects.start()
            if not options.no_cache:
                shared.open()
            try:
                _lower(request, effects, graph)
            except BuildError as error:
                raise name_failure(request.scope, error) from None
        first = opened[0]
        sessions = {item.request.scope: item.session for item in opened}
        options = first.request.options
        try:
            solved = solve_graph(graph, first.session, jobs=options.jobs, trace=options.trace, scoped=sessions)
        except StepFailed as failed:
            raise name_failure(failed.scope, failed.error) from None
        results = {}
        for item in opened:
            try:
                results[item.request.scope] = _publish(store, item, graph, solved, reporter)
            except BuildError as error:
                raise name_failure(item.request.scope, error) from None
        return results
    finally:
        for item in reversed(opened):
            try:
                item.effects.finish()
            finally:
                item.shared.close()


def _publish(store, item: _Open, graph, solved, reporter) -> BuildResult:
    """Commit, tag and send out one request's result; export its cache; report its steps."""
    from builder.cache import chain_id
    from builder.oci.index import ImageIndex, commit_index
    from builder.publish import commit_final, keep_compression, made_layers, write_outputs
    from builder.sharedcache.inline import set_inline_cache

    request, options = item.request, item.request.options
    several = len(request.plans) > 1
    targets = [key for key in graph.targets if key.scope == request.scope]
    finals = [solved.results[key] for key in targets]
    images = []
    for final in finals:
        # --cache-to type=inline: the records of the image's steps go into its config; a base's are dropped
        set_inline_cache(item.shared, final.state.document, final.diff_ids)
        tags = [] if several else options.tags
        images.append(commit_final(store, final, request.created, options.labels, tags))
    result = images[0]
    if several:
        result = commit_index(store, images, platforms=request.platforms, tags=options.tags)
    result = keep_compression(store, result, options.compression, options.tags)
    images = list(result.images) if several else [result]
    statements = _statements(store, item, graph, solved, targets)
    # an image output made over (compression, media types, annotations) is what the build reports, as buildx's
    # metadata names the image it stored or pushed
    made = made_layers(finals)
    platforms = request.platforms
    result = (
        write_outputs(store, result, options, reporter, made, statements, platforms, request.epoch) or result
    )
    if item.shared.targets:
        layers = [final.diff_ids for final in finals]
        item.shared.export({chain_id(list(ls[:n])) for ls in layers for n in range(1, len(ls) + 1)})
    reports = [
        StepReport(
            r.stage, r.line, r.text, r.cached, r.reason, r.seconds, r.layer.record() if r.layer else None
        )
        for key in graph.stages
        if key.scope == request.scope
        for r in solved.steps[key]
    ]
    layer_steps = [r for r in reports if r.layer is not None]
    ran = sum(not r.cached for r in layer_steps)
    if several:
        digest, image_id, size = result.digest, result.digest, result.size
    elif isinstance(result, ImageIndex):  # one image with its attestations: buildx reports the index
        digest, image_id, size = result.digest, result.images[0].id, result.images[0].size
    else:
        digest, image_id, size = result.manifest_digest, result.id, result.size
    reporter.summary(ran, len(layer_steps) - ran, image_id, size)
    plans = request.plans
    per_platform = {str(p.platform): image.manifest_digest for p, image in zip(plans, images, strict=True)}
    return BuildResult(digest, image_id, size, reports, per_platform)


def _statements(store, item: _Open, graph, solved, targets):
    """The attestations ``item``'s request asks for, made from its solve (None when none are)."""
    request, options = item.request, item.request.options
    if not options.attestations:
        return None
    from builder.attest.fromsolve import BuildFacts, solved_platforms
    from builder.attest.outputs import statement_source

    build_args = dict(options.build_args)
    if request.epoch is not None:  # from the environment too: buildx passes it as a build arg
        build_args.setdefault("SOURCE_DATE_EPOCH", str(request.epoch))
    facts = BuildFacts(
        buildfile_name=request.name,
        buildfile_text=request.text,
        build_args=build_args,
        secret_ids=tuple(source.id for source in options.secrets),
        ssh_ids=tuple(source.id for source in options.ssh),
        remote_sources=tuple(item.effects.downloads),
        context=Path(options.context),
        target=options.target,
        epoch=request.epoch,
        started=request.started,
    )
    return statement_source(store, options.attestations, facts, solved_platforms(graph, solved, targets))


def _lower(request: Request, effects, graph) -> None:
    """Read every base image of ``request`` (at once, each once), then lower its plans into ``graph``."""
    from builder.frontend.graph import StageKey
    from builder.frontend.lower import LowerOptions, context_identity, lower

    options = request.options
    wanted: dict[StageKey, tuple[str, Platform, object]] = {}
    for the_plan in request.plans:
        for stage in the_plan.build_order():
            if stage.base.kind not in (SourceKind.STAGE, SourceKind.SCRATCH):
                key = StageKey(str(the_plan.platform), stage.index, request.scope)
                wanted[key] = (stage.base.ref, stage.platform, stage.source.span)

    def read(item: tuple[str, Platform]):
        ref, platform = item
        return effects.base_image(ref, platform)

    distinct = list(dict.fromkeys((ref, platform) for ref, platform, _span in wanted.values()))
    spans = {(ref, platform): span for ref, platform, span in wanted.values()}
    by_ref: dict = {}
    if distinct:
        with ThreadPoolExecutor(max_workers=min(4, len(distinct))) as pool:
            futures = {item: pool.submit(read, item) for item in distinct}
            for item in distinct:  # in the Buildfile's order: the first failing FROM is the one reported
                try:
                    by_ref[item] = futures[item].result()
                except BuildError as error:
                    raise error.with_span(spans[item]) from None
    bases = {key: by_ref[(ref, platform)] for key, (ref, platform, _span) in wanted.items()}
    named = options.named_contexts
    lower_options = LowerOptions(
        context=context_identity(Path(options.context)),
        created=request.created,
        build_args=dict(options.build_args),
        network=options.network,
        run_options=options.run_options,
        allow=tuple(options.allow),
        named_directories={n: str(c.directory) for n, c in named.items() if getattr(c, "directory", None)},
        named_images={n: c.image for n, c in named.items() if getattr(c, "image", None)},
        no_cache_filter=tuple(options.no_cache_filter),
    )
    before = set(graph.stages)
    lower(request.plans, bases, lower_options, scope=request.scope, into=graph)
    check_triggers_runnable([graph.stages[key] for key in graph.stages if key not in before])


def check_request(options: BuildOptions, platforms: list[Platform]) -> None:
    """Refuse bad ``-t`` names, a nameless ``--push`` and outputs that cannot hold the result before any
    step runs, not after the last one."""
    from builder.refs import parse_ref

    for tag in options.tags:
        parse_ref(tag)  # raises a UsageError (exit 2) with Docker's wording
    from builder.outputspec import check_outputs

    epoch_set = source_date_epoch(options.build_args) is not None
    check_outputs(options.outputs, tags=options.tags, several=len(platforms) > 1, epoch_set=epoch_set)
    if options.jobs is not None and options.jobs < 1:
        raise UsageError(f"invalid --jobs {options.jobs}: at least 1 step must be able to run")


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


def check_triggers_runnable(stages) -> None:
    """The same for the RUN steps a base image's ONBUILD triggers add, which only the base's config shows;
    the error points at the stage's FROM."""
    from builder import emulation
    from builder.frontend.graph import LayerStep
    from builder.ops import RunOp

    for lowered in stages:
        own = len(lowered.stage.instructions)
        triggered = lowered.steps[: len(lowered.steps) - own]
        if any(isinstance(s, LayerStep) and isinstance(s.op, RunOp) for s in triggered):
            emulation.require(lowered.stage.platform, lowered.stage.source.span)
