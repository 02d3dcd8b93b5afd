"""``pybuild [build] [OPTIONS] CONTEXT``: build an image from a Buildfile, with docker build's options.

Exit codes: 0 built; 1 the build failed while running (a RUN exited non-zero, a source is missing); 2 the
Buildfile or the options are wrong. Outputs (``-o``) follow buildx: ``type=image`` (the store, the default),
``type=oci,dest=FILE|DIR``, ``type=docker,dest=FILE``; several may be given.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("context", nargs="?", default=".", metavar="CONTEXT", help="build context directory")
    parser.add_argument(
        "-f", "--file", metavar="FILE", help="the Buildfile (default: CONTEXT/Buildfile; - reads stdin)"
    )
    parser.add_argument(
        "-t", "--tag", action="append", default=[], metavar="NAME:TAG", help="name the result (repeatable)"
    )
    parser.add_argument("--build-arg", action="append", default=[], metavar="K=V", help="set a build argument")
    parser.add_argument("--target", metavar="STAGE", help="build this stage and what it needs")
    parser.add_argument(
        "--no-cache", action="store_true", help="run every step; record results for later builds"
    )
    parser.add_argument(
        "--no-cache-filter", action="append", default=[], metavar="STAGE", help="do not use the cache for STAGE"
    )
    parser.add_argument("--label", action="append", default=[], metavar="K=V", help="add a label to the image")
    parser.add_argument("--network", default="default", choices=("default", "host", "none"), help="RUN network")
    parser.add_argument(
        "-o", "--output", action="append", default=[], metavar="SPEC", help="type=image|oci|docker[,dest=PATH]"
    )
    parser.add_argument("--iidfile", metavar="FILE", help="write the image ID to FILE")
    parser.add_argument("--progress", default="auto", choices=("auto", "tty", "plain", "quiet"))
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the image ID")
    parser.add_argument("--compression", default="gzip", choices=("gzip", "zstd"), help="layer compression")


def _pairs(values: list[str], option: str) -> dict[str, str]:
    import os

    from builder.errors import UsageError

    result = {}
    for value in values:
        key, eq, val = value.partition("=")
        if not key:
            raise UsageError(f"invalid {option} {value!r}: expected KEY=VALUE")
        if not eq:
            # docker build --build-arg NAME takes the value from the environment when it is set there
            if key not in os.environ:
                continue
            val = os.environ[key]
        result[key] = val
    return result


def parse_output(spec: str) -> dict[str, str]:
    """``type=oci,dest=out.tar`` → ``{"type": "oci", "dest": "out.tar"}``; a bare path means ``type=local``."""
    from builder.errors import UsageError

    fields = {}
    for part in spec.split(","):
        key, eq, value = part.partition("=")
        if not eq:
            if len(spec.split(",")) == 1:
                return {"type": "local", "dest": spec}
            raise UsageError(f"invalid --output {spec!r}: expected key=value pairs")
        fields[key.strip()] = value.strip()
    kind = fields.get("type")
    if kind not in ("image", "oci", "docker"):
        raise UsageError(f"unsupported output type {kind!r} (supported: image, oci, docker)")
    if kind != "image" and not fields.get("dest"):
        raise UsageError(f"--output type={kind} needs dest=PATH")
    return fields


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from builder.errors import UsageError
    from builder.executor import BuildOptions, build
    from builder.ui import Reporter

    context = Path(args.context)
    if not context.is_dir():
        raise UsageError(f"build context {args.context!r} is not a directory")
    outputs = [parse_output(spec) for spec in args.output]
    options = BuildOptions(
        context=context,
        tags=list(args.tag),
        build_args=_pairs(args.build_arg, "--build-arg"),
        target=args.target,
        no_cache=args.no_cache,
        no_cache_filter=[name.lower() for name in args.no_cache_filter],
        labels=_pairs(args.label, "--label"),
        network=args.network,
        root=args.root,
        compression=args.compression,
    )
    if args.file == "-":
        options.buildfile_text = sys.stdin.read()
        options.buildfile = Path("Buildfile")
    elif args.file:
        options.buildfile = Path(args.file)
    reporter = Reporter("quiet" if args.quiet else args.progress)
    result = build(options, reporter)
    for output in outputs:
        if output["type"] != "image":
            _export(args.root, result.manifest_digest, args.tag, output)
    if args.iidfile:
        Path(args.iidfile).write_text(result.image_id)
    if args.quiet:
        print(result.image_id)
    return 0


def _export(root, manifest_digest: str, tags: list[str], output: dict[str, str]) -> None:
    from pathlib import Path

    from builder.oci.archive import DirSink
    from builder.oci.export import write_docker_archive, write_oci
    from builder.oci.image import read_image
    from builder.refs import parse_ref
    from builder.store import Store

    with Store.open(root) as store:
        entries = [(read_image(store, manifest_digest), [parse_ref(t) for t in tags])]
        dest = Path(output["dest"])
        write = write_docker_archive if output["type"] == "docker" else write_oci
        if output["type"] == "oci" and (dest.is_dir() or output.get("tar") == "false"):
            dest.mkdir(parents=True, exist_ok=True)
            write(store, entries, DirSink(dest))
            return
        _write_tar(store, entries, dest, write)


def _write_tar(store, entries, dest, write) -> None:
    """Write an archive to a temp file beside ``dest`` and rename it, so a failure leaves no partial file."""
    import os
    import tempfile

    from builder.oci.archive import TarSink

    fd, tmp = tempfile.mkstemp(dir=dest.parent if str(dest.parent) else ".", prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            sink = TarSink(out)
            write(store, entries, sink)
            sink.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        os.unlink(tmp) if os.path.exists(tmp) else None
        raise
