"""``pybuild import SOURCE [REPOSITORY[:TAG]]``: make a one-layer image from a root filesystem.

SOURCE is a tar archive (plain, gzip or zstd), a directory, or ``-`` for a tar on standard input. As
``docker import``: ``--change`` applies Dockerfile instructions (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
STOPSIGNAL, USER, VOLUME, WORKDIR) to the config, ``--message`` sets the history comment, ``--platform`` the
image's platform (default: the host's). Prints the new image's ID.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", metavar="SOURCE", help="root filesystem: a tar file, a directory, or - (stdin)"
    )
    parser.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]", help="name for the new image")
    parser.add_argument(
        "-c",
        "--change",
        action="append",
        default=[],
        metavar="INSTRUCTION",
        help="apply a Dockerfile instruction",
    )
    parser.add_argument("-m", "--message", help="history comment for the imported layer")
    parser.add_argument("--platform", help="platform of the image, e.g. linux/arm64 (default: the host's)")
    parser.add_argument(
        "--compression",
        choices=("gzip", "zstd", "none"),
        default="gzip",
        help="layer compression (default: gzip)",
    )


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from builder.diskfull import naming
    from builder.errors import UsageError
    from builder.oci.changes import apply_change
    from builder.oci.config import new_config
    from builder.oci.importer import import_rootfs
    from builder.platforms import Platform
    from builder.refs import RefError, parse_ref
    from builder.store import Store

    if "://" in args.source:
        raise UsageError(f"importing from a URL is not supported: {args.source}", hint="download it first")
    ref = parse_ref(args.reference) if args.reference else None
    if ref is not None and ref.digest is not None:
        raise RefError(f"refusing to create a tag with a digest reference: {args.reference}")
    platform = Platform.parse(args.platform) if args.platform else None
    for change in args.change:  # reject a bad --change before any work is done
        apply_change(new_config(Platform.host(), created="1970-01-01T00:00:00Z"), change)
    store = Store.open(args.root, form=args.layer_form)
    if args.source == "-":
        if sys.stdin.isatty():
            raise UsageError("no archive on standard input", hint="pipe a tar archive or give a file")
        source = sys.stdin.buffer
    else:
        source = Path(args.source)
        if not source.exists():
            raise UsageError(f"no such file or directory: {args.source}")
    with naming(f"the layer of {args.source} in the store at {store.root}"):
        image = import_rootfs(
            store,
            source,
            ref,
            platform=platform,
            changes=args.change,
            message=args.message,
            source_name=args.source,
            compression=args.compression,
        )
    print(image.id)
    return 0
