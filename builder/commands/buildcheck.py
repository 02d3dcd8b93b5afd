"""``pybuild build --check`` (``--call=check``): run the build checks and stop, building nothing.

Findings go to standard output, each located like an error, then buildx's closing line. Exit codes: 0 no
finding; 1 findings (as buildx), also when ``# check=error=true`` makes them errors; 2 the Buildfile does not
parse or plan (findings made before that are printed first).
"""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace, source, named: dict) -> int:
    """Check the build ``args`` describe, in ``source`` (a `builder.contextsource.Context`) with the
    ``--build-context`` values ``named`` (as `builder.commands.build` opened them)."""
    import sys
    from pathlib import Path

    from builder.buildfile import parse_build_args, read_buildfile, read_stdin_text
    from builder.checks.report import check_summary, render_finding, violation
    from builder.checks.session import StoreImages, check_all, directory_contexts, ignore_rules
    from builder.contextsource import buildfile_in
    from builder.errors import BuildError, SyntaxProblem
    from builder.executor import requested_platforms
    from builder.namedcontexts import base_images
    from builder.plan import plan
    from builder.syntax import parse
    from builder.userpaths import absolute, buildfile_name, default_buildfile

    context = source.directory
    build_args = parse_build_args(args.build_arg)
    if args.file == "-":
        name, text, path = "Buildfile", read_stdin_text(), None
    elif source.buildfile_text is not None:  # the context was a Dockerfile alone (stdin or a URL)
        name, text, path = "Dockerfile", source.buildfile_text, None
    else:
        if source.remote:
            file, shown = buildfile_in(source, args.file), None
        else:
            file = absolute(args.file) if args.file else None
            shown = buildfile_name(args.file, args.context, context)
        name, text = read_buildfile(file, context, shown=shown)
        path = Path(file) if file else default_buildfile(context)
    try:
        buildfile = parse(text, name)
    except SyntaxProblem as error:
        _print_findings_above(error, text, name, build_args)
        raise
    platforms = requested_platforms(args.platform)
    plans, failure = [], None
    try:
        contexts = base_images(named)
        plans = [
            plan(buildfile, build_args=build_args, target=args.target, platform=p, contexts=contexts)
            for p in platforms
        ]
    except BuildError as error:
        failure = error
    ignore = ignore_rules(context, path)
    with _store(args.root, args.layer_form) as store:
        images = StoreImages(store, directories=directory_contexts(named))
        findings, options = check_all(
            buildfile,
            text,
            plans,
            build_args=build_args,
            platforms=platforms,
            ignore=ignore,
            images=images,
            all_stages=args.target is None,
        )
    for finding in findings:
        print(render_finding(finding) + "\n")
    for ref in images.unknown:
        print(
            f"note: base image {ref} is not in the store, so the variables its environment may define "
            f"were not checked (pull it first to check them)"
        )
    sys.stdout.flush()
    if failure is not None:
        raise failure
    print(check_summary(len(findings)))
    if findings and options.error:
        raise violation(findings)
    return 1 if findings else 0


def _print_findings_above(error, text: str, name: str, build_args: dict[str, str]) -> None:
    """Before a syntax error, the findings BuildKit also reports: those of the instructions above it."""
    from builder.checks import CheckInput, enabled_findings, options_for, parse_time_checks
    from builder.checks.report import render_finding
    from builder.errors import BuildError
    from builder.syntax import parse

    if error.span is None or error.span.file != name or error.span.line <= 1:
        return
    lines = text.split("\n")
    try:
        above = parse("\n".join(lines[: error.span.line - 1]) + "\n", name)
        check = CheckInput(above, tuple(line.removesuffix("\r") for line in lines), build_args=build_args)
        findings = enabled_findings(parse_time_checks(check), options_for(above, build_args), check)
    except BuildError:
        return  # the lines above do not stand on their own (a heredoc or continuation runs into the error)
    for finding in findings:
        print(render_finding(finding) + "\n")
    sys.stdout.flush()


def _store(root: str | None, form):
    """The store, opened (its layers in ``form``) only if it exists (a check creates nothing); a null context
    otherwise."""
    import contextlib
    from pathlib import Path

    from builder.store import Store, default_root

    directory = Path(root) if root else default_root()
    if not (directory / "layout.json").is_file():
        return contextlib.nullcontext(None)
    return Store.open(directory, form=form)
