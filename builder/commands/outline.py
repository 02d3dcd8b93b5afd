"""``pybuild outline``: print the stages and instructions of a Buildfile as JSON, without building.

Like ``docker buildx build --call=outline``, it runs the front end only (parse, plan, expand) and reads
nothing but the Buildfile. Errors are the build's: a malformed Buildfile exits with code 2 and a located
message, as ``pybuild build`` would before running a step.

Output (indent 2, keys in this order, UTF-8)::

    {
      "file": "Buildfile",                  # the path given with -f ("-": "<stdin>")
      "escape": "\\",                      # the escape character in force (``# escape=`` directive)
      "platform": "linux/amd64",            # the target platform (--platform, default the host's)
      "target": {"index": 1, "name": "app"},  # the stage built (name null for an unnamed stage)
      "args": {"VERSION": "1.2", "X": null},  # global ARGs (before the first FROM), --build-arg applied;
                                            # null: declared without a value and not given
      "unused_build_args": ["TYPO"],        # --build-arg names no ARG line (nor a predefined ARG) declares
      "stages": [
        {
          "index": 0,
          "name": "build",                  # lower case; null when the FROM has no AS
          "base": {"kind": "image", "ref": "golang:1.22", "written": "golang:${GO}"},
                                            # kind image | scratch | stage; a stage base also has "stage": N
          "platform": "linux/amd64",        # FROM --platform (expanded), a base stage's, else the target's
          "needed": true,                   # the target depends on it; BuildKit skips the rest
          "depends_on": [],                 # indexes of the stages it reads (base, COPY --from, mount from=)
          "images": [],                     # images it reads through COPY --from or RUN --mount from=
          "instructions": [
            {"line": 3, "keyword": "FROM", "flags": {}, "args": ["golang:1.22", "AS", "build"]},
            {"line": 4, "keyword": "RUN", "flags": {"mount": ["type=cache,target=/root/.cache"]},
             "args": ["go build ./..."], "form": "shell"}
          ]
        }
      ]
    }

Each instruction has ``line`` (where it starts), ``keyword`` (upper case), ``flags`` (name → value as
expanded; ``true`` for a bare flag; a list for ``mount`` and ``exclude``) and ``args``, expanded where
BuildKit expands (``builder.plan.resolve``): FROM ``[ref]`` or ``[ref, "AS", name]``; ENV and LABEL
``["k=v", …]``; ARG ``["NAME=value"]`` with the value the stage gets, or ``["NAME"]`` without one; EXPOSE the
ports after word splitting; COPY/ADD the sources then the destination (a heredoc source stays ``<<NAME``);
VOLUME the paths; USER, WORKDIR, STOPSIGNAL, MAINTAINER and ONBUILD one string; SHELL the array; RUN, CMD and
ENTRYPOINT the command as written (one string in shell form), HEALTHCHECK ``["NONE"]`` or ``["CMD", …]``.
Optional keys: ``form`` (``"shell"`` or ``"exec"``, for commands), ``heredocs`` (``[{"name", "expand",
"content"}]``, COPY/ADD bodies expanded when ``expand``), and ``unresolved``: names the instruction refers to
that the Buildfile does not define in that stage but the base image might — they are shown as empty here.
Stages the build does not need are not expanded (BuildKit never dispatches them): their words are shown as
written, except FROM, which BuildKit always resolves.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from builder.errors import PlanError, UsageError


def configure(parser: argparse.ArgumentParser) -> None:
    from builder.buildfile import add_buildfile_arguments

    add_buildfile_arguments(parser)
    parser.add_argument("context", nargs="?", default=".", metavar="CONTEXT", help="build context (not read)")


def run(args: argparse.Namespace) -> int:
    from builder.buildfile import parse_build_args, read_buildfile
    from builder.plan import Platform, plan
    from builder.syntax import parse

    path, text = read_buildfile(args.file, args.context)
    buildfile = parse(text, path)
    platform = None
    if args.platform:
        try:
            platform = Platform.parse(args.platform)
        except PlanError as error:
            raise UsageError(f"--platform: {error.message}") from None
    the_plan = plan(
        buildfile, build_args=parse_build_args(args.build_arg), target=args.target, platform=platform
    )
    sys.stdout.write(json.dumps(outline(the_plan), indent=2, ensure_ascii=False) + "\n")
    return 0


def outline(the_plan: Any) -> dict[str, Any]:
    """The JSON document described in the module docstring, for a `builder.plan.Plan`."""
    from builder.plan import Resolver, SourceKind

    resolver = Resolver(the_plan)
    target = the_plan.stages[the_plan.target]
    stages = []
    for stage in the_plan.stages:
        base: dict[str, Any] = {
            "kind": str(stage.base.kind),
            "ref": stage.base.ref,
            "written": stage.base.written,
        }
        if stage.base.stage is not None:
            base["stage"] = stage.base.stage
        images = [d.ref for d in stage.deps if d.kind is SourceKind.IMAGE]
        steps = resolver.steps(stage, expand=stage.needed)
        stages.append(
            {
                "index": stage.index,
                "name": stage.name,
                "base": base,
                "platform": str(stage.platform),
                "needed": stage.needed,
                "depends_on": list(stage.stage_deps),
                "images": list(dict.fromkeys(images)),
                "instructions": [_instruction(step.resolved) for step in steps],
            }
        )
    return {
        "file": the_plan.buildfile.path,
        "escape": the_plan.buildfile.escape,
        "platform": str(the_plan.platform),
        "target": {"index": target.index, "name": target.name},
        "args": dict(the_plan.global_args),
        "unused_build_args": list(the_plan.unused_build_args),
        "stages": stages,
    }


def _instruction(resolved: Any) -> dict[str, Any]:
    ins = resolved.instruction
    entry: dict[str, Any] = {
        "line": ins.span.line,
        "keyword": ins.keyword,
        "flags": resolved.flags,
        "args": list(resolved.args),
    }
    command = getattr(ins, "command", None)
    if command is not None:
        entry["form"] = "exec" if command.exec_form else "shell"
    if resolved.heredocs:
        entry["heredocs"] = [
            {"name": h.name, "expand": h.expand, "content": h.content} for h in resolved.heredocs
        ]
    if resolved.unresolved:
        entry["unresolved"] = list(resolved.unresolved)
    return entry
