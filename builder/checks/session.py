"""Running the checks for a build or for ``--check``: gathering what the rules look at (the plan, the
context's ``.dockerignore``, base images the store holds) and printing what they find.

Base images are only looked up in the store, never pulled: ``--check`` builds nothing and needs no network,
and a build runs its checks before its first step. An image the store does not hold is reported as unknown;
UndefinedVar then does not judge the variables of stages built on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from builder.checks import CheckInput, CheckOptions, Finding, enabled_findings, options_for, run_checks
from builder.checks.model import BaseImage
from builder.errors import BuildError
from builder.platforms import Platform
from builder.syntax.ast import Buildfile


@dataclass
class StoreImages:
    """A base-image lookup backed by a store (None: no store yet), remembering the names it did not find.
    ``directories``: names of ``--build-context`` directories, which stand in FROM for an image with no
    environment."""

    store: object | None
    directories: frozenset[str] = frozenset()
    unknown: list[str] = field(default_factory=list)

    def __call__(self, ref: str, platform: Platform) -> BaseImage | None:
        if ref in self.directories:
            return BaseImage({}, (), platform)
        image = None
        if self.store is not None:
            from builder.oci.image import load_image

            try:
                image = load_image(self.store, ref, platform=platform)
            except BuildError:
                image = None
        if image is None:
            if ref not in self.unknown:
                self.unknown.append(ref)
            return None
        config = image.config.get("config") or {}
        env = dict(item.split("=", 1) for item in config.get("Env") or () if "=" in item)
        return BaseImage(env, tuple(config.get("Shell") or ()), Platform.from_document(image.config))


def directory_contexts(named) -> frozenset[str]:
    """The names of the ``--build-context`` values (`builder.namedcontexts.NamedContext`) that are
    directories."""
    return frozenset(name for name, context in (named or {}).items() if context.directory is not None)


def ignore_rules(context: Path, buildfile_path: Path | None):
    """The context's compiled ignore file, or None; a malformed one raises its located error. The matcher
    is only imported when there is a file (``builder.context.ignore.find_ignore_file`` names the two)."""
    candidates = [Path(context) / ".dockerignore"]
    if buildfile_path is not None:
        candidates.append(buildfile_path.with_name(buildfile_path.name + ".dockerignore"))
    if not any(c.is_file() for c in candidates):
        return None
    from builder.context.ignore import IgnoreRules, find_ignore_file

    path = find_ignore_file(context, buildfile_path)
    return IgnoreRules.from_file(path) if path is not None else None


def check_all(
    buildfile: Buildfile,
    text: str,
    plans: list,
    *,
    build_args: Mapping[str, str],
    platforms: list[Platform],
    ignore,
    images: StoreImages,
    all_stages: bool,
) -> tuple[list[Finding], CheckOptions]:
    """The enabled findings over every planned platform (repeats dropped), and the options in force.

    ``plans`` may be empty when planning failed: the rules that need no plan still run."""
    options = options_for(buildfile, build_args)
    # physical lines as the parser counts them: only \n ends one (not form feeds and the like)
    lines = tuple(line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n"))
    found: list[Finding] = []
    seen: set[tuple[str, str, int, int]] = set()
    for index, platform in enumerate(platforms):
        check = CheckInput(
            buildfile,
            lines,
            build_args=build_args,
            platform=platform,
            plan=plans[index] if index < len(plans) else None,
            all_stages=all_stages,
            base_image=images,
            ignore=ignore,
        )
        for finding in enabled_findings(run_checks(check), options, check):
            key = (finding.rule.name, finding.message, finding.span.line, finding.span.column)
            if key not in seen:
                seen.add(key)
                found.append(finding)
    found.sort(key=lambda f: f.span.line)
    return found, options


def warn_before_build(
    buildfile: Buildfile,
    text: str,
    source: Path | None,
    plans: list,
    options,
    platforms: list[Platform],
    store,
    reporter,
) -> None:
    """A build's checks: print the findings as warnings (through ``reporter``, so ``--quiet`` hides them)
    before any step runs, for the stages the target needs; raise the lint violation (exit 1) when
    ``# check=error=true`` makes them errors. ``source`` is the Buildfile's path (None: standard input),
    beside which a ``Buildfile.dockerignore`` is looked for; ``options`` is the build's `BuildOptions`."""
    from builder.checks.report import build_summary, render_finding, violation

    findings, check_options = check_all(
        buildfile,
        text,
        plans,
        build_args=options.build_args,
        platforms=platforms,
        ignore=ignore_rules(options.context, source),
        images=StoreImages(store, directories=directory_contexts(options.named_contexts)),
        all_stages=False,
    )
    # A build never runs on a base image of another platform: it pulls the right one or stops with an error.
    findings = [f for f in findings if f.rule.name != "InvalidBaseImagePlatform"]
    if not findings:
        return
    for finding in findings:
        reporter.info(render_finding(finding))
    reporter.info(build_summary(len(findings)))
    if check_options.error:
        raise violation(findings)
