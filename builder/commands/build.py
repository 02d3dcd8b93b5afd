"""``pybuild [build] [OPTIONS] CONTEXT``: build an image from a Buildfile, with docker build's options.

Exit codes: 0 built; 1 the build failed while running (a RUN exited non-zero, a source is missing) or a
build check is an error (``# check=error=true``); 2 the Buildfile or the options are wrong. ``--check`` runs
the build checks only (see ``builder.commands.buildcheck``). Outputs (``-o``) follow buildx (see
``builder.outputs``); several may be given; the store always receives the image.
"""

from __future__ import annotations

import argparse


def _pull_policy(value: str) -> str:
    """``--pull=VALUE``: a policy, or buildx's boolean (true: always, false: missing)."""
    return {"true": "always", "false": "missing"}.get(value.lower(), value)


def configure(parser: argparse.ArgumentParser) -> None:
    from builder.buildfile import add_buildfile_arguments

    parser.add_argument(
        "context",
        nargs="?",
        default=".",
        metavar="CONTEXT",
        help="build context: a directory, '-' (a tar or a Dockerfile on stdin), a git URL, or a tarball URL",
    )
    add_buildfile_arguments(parser)
    parser.add_argument(
        "-t", "--tag", action="append", default=[], metavar="NAME:TAG", help="name the result (repeatable)"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="run every step; record results for later builds"
    )
    parser.add_argument(
        "--no-cache-filter", action="append", default=[], metavar="STAGE", help="do not use the cache for STAGE"
    )
    parser.add_argument("--label", action="append", default=[], metavar="K=V", help="add a label to the image")
    parser.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        metavar="N",
        help="how many steps may run at once (default: twice the CPUs, at least 4)",
    )
    parser.add_argument(
        "--trace",
        metavar="FILE",
        help="write the build's timeline as Chrome trace-event JSON (for Perfetto)",
    )
    parser.add_argument("--network", default="default", choices=("default", "host", "none"), help="RUN network")
    parser.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="SPEC",
        help="type=image|registry|oci|docker|local|tar[,dest=PATH|-][,name=…][,push=true][,compression=…]…",
    )
    parser.add_argument(
        "--annotation",
        action="append",
        default=[],
        metavar="[TYPE:]KEY=VALUE",
        help="add an annotation (TYPE: manifest (default), index, manifest-descriptor, index-descriptor)",
    )
    parser.add_argument("--iidfile", metavar="FILE", help="write the image ID to FILE")
    parser.add_argument("--metadata-file", metavar="FILE", help="write the result's digests as JSON to FILE")
    parser.add_argument(
        "--pull",
        nargs="?",
        const="always",
        default="missing",
        type=_pull_policy,
        choices=("always", "missing", "never"),
        help="when to pull base images from their registry (default: missing; --pull alone: always; "
        "buildx's --pull=true|false: always|missing)",
    )
    parser.add_argument("--push", action="store_true", help="push the tagged result to its registry")
    parser.add_argument(
        "--load", action="store_true", help="keep the result in the store (it always is: accepted for buildx)"
    )
    parser.add_argument(
        "--provenance",
        metavar="true|false|mode=min|max[,version=v1]",
        help="attach SLSA provenance (default with --push: mode=min, unless BUILDX_NO_DEFAULT_ATTESTATIONS)",
    )
    parser.add_argument("--sbom", metavar="true|false", help="attach an SPDX SBOM")
    parser.add_argument(
        "--attest",
        action="append",
        default=[],
        metavar="type=provenance|sbom,…",
        help="an attestation: type=provenance[,mode=min|max][,version=v1], type=sbom, …,disabled=true",
    )
    parser.add_argument("--progress", default="auto", choices=("auto", "tty", "plain", "quiet", "rawjson"))
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the image ID")
    parser.add_argument("--compression", default="gzip", choices=("gzip", "zstd"), help="layer compression")
    parser.add_argument(
        "--cache-from",
        action="append",
        default=[],
        metavar="SPEC",
        help="import a shared cache: type=registry,ref=REPO:TAG (a cache or an image with an inline cache) "
        "or type=local,src=DIR (repeatable)",
    )
    parser.add_argument(
        "--cache-to",
        action="append",
        default=[],
        metavar="SPEC",
        help="export the build cache: type=registry,ref=REPO:TAG or type=local,dest=DIR [,mode=min|max,"
        "image-manifest=,oci-mediatypes=,compression=,ignore-error=], or type=inline (into the image)",
    )
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="id=ID,src=PATH|env=VAR",
        help="a secret for RUN --mount=type=secret (repeatable)",
    )
    parser.add_argument(
        "--ssh",
        action="append",
        default=[],
        metavar="default|ID=SOCKET|KEY",
        help="an ssh agent or keys for RUN --mount=type=ssh (repeatable)",
    )
    parser.add_argument(
        "--add-host", action="append", default=[], metavar="NAME:IP", help="add a line to RUN's /etc/hosts"
    )
    parser.add_argument(
        "--ulimit", action="append", default=[], metavar="NAME=SOFT[:HARD]", help="an rlimit for RUN steps"
    )
    parser.add_argument("--shm-size", metavar="SIZE", help="size of /dev/shm in RUN steps (default 64m)")
    parser.add_argument(
        "--build-context",
        action="append",
        default=[],
        metavar="NAME=DIR|URL|docker-image://REF|oci-layout://PATH[@DIGEST]",
        help="another context, for FROM NAME, COPY --from=NAME and RUN --mount=from=NAME (repeatable)",
    )
    parser.add_argument(
        "--allow", action="append", default=[], metavar="ENTITLEMENT", help="grant security.insecure"
    )
    parser.add_argument(
        "--check", action="store_true", help="run the build checks and stop without building (--call=check)"
    )
    parser.add_argument(
        "--call", default="build", metavar="FUNC", help="what to do: build (the default) or check"
    )


def _call(args: argparse.Namespace) -> str:
    """``build`` or ``check``; buildx's other functions are refused with what to use instead."""
    from builder.errors import UsageError

    call = "check" if args.check else args.call.strip().lower()
    if call in ("build", "check"):
        return call
    if call == "outline":
        raise UsageError("--call=outline is not supported", hint="use 'pybuild outline' for the stages as JSON")
    raise UsageError(f"--call={args.call} is not supported: pybuild knows build and check")


def _labels(values: list[str]) -> dict[str, str]:
    from builder.errors import UsageError

    labels = {}
    for value in values:
        key, eq, val = value.partition("=")
        if not key or not eq:
            raise UsageError(f"invalid --label {value!r}: expected KEY=VALUE")
        labels[key] = val
    return labels


def _secrets(values: list[str]) -> list:
    if not values:
        return []
    from builder.mounts import parse_secret  # with the secret plumbing: only when there are secrets

    return [parse_secret(value) for value in values]


def _ssh(values: list[str]) -> list:
    if not values:
        return []
    from builder.mounts import parse_ssh

    return [parse_ssh(value) for value in values]


def run(args: argparse.Namespace) -> int:
    import sys

    from builder.contextsource import materialize
    from builder.errors import UsageError
    from builder.namedcontexts import open_named_contexts

    if args.context == "-" and args.file == "-":
        raise UsageError("invalid argument: can't use stdin for both build context and dockerfile")
    with (
        materialize(args.context, sys.stdin.buffer) as source,
        open_named_contexts(args.build_context, args.root, sys.stdin.buffer, form=args.layer_form) as named,
    ):
        if _call(args) == "check":
            from builder.commands import buildcheck

            return buildcheck.run(args, source, named)
        return _run(args, source, named)


def _run(args: argparse.Namespace, source, named: dict) -> int:
    """The build of ``args`` in ``source`` (a `builder.contextsource.Context`) with the ``--build-context``
    values ``named``."""
    import json
    import os
    from pathlib import Path

    from builder.attest.request import check_outputs, parse_attestations
    from builder.buildfile import parse_build_args, read_stdin_text
    from builder.contextsource import buildfile_in
    from builder.executor import BuildOptions, build
    from builder.mounts import parse_allow
    from builder.outputs import parse_output
    from builder.outputspec import OutputSpec, parse_annotation, with_annotations
    from builder.rawjson import make_reporter
    from builder.registry.options import RegistryOptions
    from builder.runoptions import parse_run_options
    from builder.sharedcache.spec import parse_cache_spec, with_inline_build_arg
    from builder.userpaths import absolute, absolute_cache_spec, absolute_output, buildfile_name

    # every path the user typed is resolved here, once, against the working directory (builder.userpaths)
    context = source.directory
    annotations = [a for text in args.annotation for a in parse_annotation(text)]
    outputs = [absolute_output(parse_output(spec)) for spec in args.output]
    if args.push:
        outputs.append(OutputSpec("registry", push=True))
    build_args = parse_build_args(args.build_arg)
    attestations = parse_attestations(
        args.provenance,
        args.sbom,
        args.attest,
        pushing=any(output.push for output in outputs),
        build_args=build_args,
        no_default=os.environ.get("BUILDX_NO_DEFAULT_ATTESTATIONS"),
    )
    check_outputs(attestations, [output.type for output in outputs])
    if annotations and not any(o.type not in ("local", "tar") for o in outputs):
        outputs.append(OutputSpec("image"))  # buildx's default output: the image, which the store holds
    outputs = [with_annotations(output, annotations) for output in outputs]
    options = BuildOptions(
        context=context,
        tags=list(args.tag),
        build_args=build_args,
        target=args.target,
        no_cache=args.no_cache,
        no_cache_filter=[name.lower() for name in args.no_cache_filter],
        labels=_labels(args.label),
        network=args.network,
        root=args.root,
        compression=args.compression,
        outputs=outputs,
        pull=args.pull,
        platform=args.platform,
        secrets=_secrets(args.secret),
        ssh=_ssh(args.ssh),
        allow=parse_allow(args.allow),
        cache_from=[absolute_cache_spec(parse_cache_spec(spec, export=False)) for spec in args.cache_from],
        cache_to=with_inline_build_arg(
            [absolute_cache_spec(parse_cache_spec(spec, export=True)) for spec in args.cache_to],
            parse_build_args(args.build_arg),
        ),
        named_contexts=named,
        run_options=parse_run_options(args.add_host, args.ulimit, args.shm_size),
        jobs=args.jobs,
        trace=absolute(args.trace) if args.trace else None,
        registry=RegistryOptions.of(args.insecure_registry),
        layer_form=args.layer_form,
        attestations=attestations or None,
    )
    if args.file == "-":
        options.buildfile_text = read_stdin_text()
        options.buildfile = Path("Buildfile")
    elif source.buildfile_text is not None:  # the context was a Dockerfile alone (stdin or a URL)
        options.buildfile_text = source.buildfile_text
        options.buildfile = Path("Dockerfile")
    elif source.remote:
        options.buildfile = buildfile_in(source, args.file)
    else:
        options.buildfile = absolute(args.file) if args.file else None
        options.buildfile_name = buildfile_name(args.file, args.context, context)
    iidfile = absolute(args.iidfile) if args.iidfile else None
    metadata_file = absolute(args.metadata_file) if args.metadata_file else None
    reporter = make_reporter("quiet" if args.quiet else args.progress)
    result = build(options, reporter)
    if iidfile:
        iidfile.write_text(result.image_id)
    if metadata_file:
        metadata = {
            "containerimage.digest": result.manifest_digest,
            "containerimage.config.digest": result.image_id,
            "image.name": ",".join(args.tag),
        }
        metadata_file.write_text(json.dumps(metadata, indent=2) + "\n")
    if args.quiet and not any(output.to_stdout for output in outputs):
        print(result.image_id)
    return 0


def _jobs(value: str) -> int:
    """``--jobs N``: a whole number of at least 1."""
    import argparse

    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid --jobs {value!r}: expected a whole number") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"invalid --jobs {value!r}: at least 1 step must be able to run")
    return jobs
