"""``pybuild bake [TARGET|GROUP…] [-f FILE…] [--set …] [--print] [--push] [--load] [--progress …]
[--no-cache] [--pull]``: build several images from a bake file or a compose file, as ``docker buildx bake``.

The flags become overrides as buildx makes them (``--push``: ``*.push=true``; ``--load``:
``*.output=type=docker``; ``--no-cache``/``--pull``: ``*.no-cache=true``/``*.pull=true``), so ``--print``
shows what buildx shows. Exit codes as ``build``: 2 for a bad definition or option, 1 for a failed target.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets", nargs="*", metavar="TARGET", help="targets or groups to build (default: default)"
    )
    parser.add_argument(
        "-f",
        "--file",
        action="append",
        default=[],
        metavar="FILE",
        help="a bake file (HCL, JSON) or compose file; repeatable, merged in order; '-' reads stdin "
        "(default: compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml, docker-bake.json, "
        "docker-bake.override.json, docker-bake.hcl, docker-bake.override.hcl)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="TARGET.KEY=VALUE",
        help="override a target's value: TARGET is a name or a pattern (*), KEY e.g. tags, args.NAME, platform",
    )
    parser.add_argument("--print", action="store_true", help="print the resolved definition as JSON and stop")
    parser.add_argument("--push", action="store_true", help="push every target's tags (*.push=true)")
    parser.add_argument("--load", action="store_true", help="*.output=type=docker: the store holds the results")
    parser.add_argument("--no-cache", action="store_true", help="run every step (*.no-cache=true)")
    parser.add_argument("--pull", action="store_true", help="always pull base images (*.pull=true)")
    parser.add_argument("--progress", default="auto", choices=("auto", "tty", "plain", "quiet", "rawjson"))
    from builder.commands.build import _jobs

    parser.add_argument("--jobs", "-j", type=_jobs, metavar="N", help="how many steps may run at once")
    parser.add_argument("--trace", metavar="FILE", help="write the bake's timeline as Chrome trace-event JSON")


def overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` values followed by the flags' overrides, in buildx's order."""
    values = list(args.set)
    if args.push:
        values.append("*.push=true")
    if args.load:
        values.append("*.output=type=docker")
    if args.no_cache:
        values.append("*.no-cache=true")
    if args.pull:
        values.append("*.pull=true")
    return values


def run(args: argparse.Namespace) -> int:
    import os
    import sys
    from contextlib import ExitStack
    from pathlib import Path

    from builder.bake.files import builtin_variables, load_config, read_files
    from builder.bake.model import print_json
    from builder.bake.options import Globals, to_build_options
    from builder.bake.resolve import read_targets

    cwd = Path.cwd()
    files = read_files(args.file, cwd, sys.stdin.buffer)
    config = load_config(files, cwd, os.environ, builtin_variables(cwd))
    resolved = read_targets(config, args.targets, overrides(args), os.environ)
    if args.print:
        print(print_json(resolved.groups, resolved.targets))
        return 0
    from builder.bake.run import build_many
    from builder.rawjson import make_reporter
    from builder.registry.options import RegistryOptions

    common = Globals(
        root=args.root,
        cwd=cwd,
        stdin=sys.stdin.buffer,
        form=args.layer_form,
        registry=RegistryOptions.of(args.insecure_registry),
    )
    with ExitStack() as stack:
        requests = [
            (name, to_build_options(target, common, stack)) for name, target in sorted(resolved.targets.items())
        ]
        if requests:  # one solve for all targets: its worker bound and its timeline are the bake's
            import dataclasses

            trace = (cwd / args.trace) if args.trace else None
            requests[0] = (requests[0][0], dataclasses.replace(requests[0][1], jobs=args.jobs, trace=trace))
        reporter = make_reporter(args.progress)
        results = build_many(requests, reporter)
    if args.progress != "quiet":
        for name in sorted(results):
            result = results[name]
            tags = ", ".join(resolved.targets[name].tags or []) or "(no tags)"
            print(f"{name}: {result.image_id} {tags}", file=sys.stderr)
    return 0
