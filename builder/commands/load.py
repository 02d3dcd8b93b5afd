"""``pybuild load [-i FILE]``: read images from a docker-archive, an OCI archive or an OCI layout directory.

Every blob is verified and every layer unpacked into the store; then the images' names are tagged. Prints
``Loaded image: NAME`` per name, or ``Loaded image ID: sha256:…`` for an image the archive does not name.
A multi-platform image of an OCI layout is loaded whole (its name then serves each platform) unless
``--platform`` picks one. Without ``-i`` the archive is read from standard input (spooled to a temp file in
the store first, since archives are read out of order).
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i", "--input", metavar="FILE", help="archive file or OCI layout directory (default: stdin)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    parser.add_argument(
        "--platform",
        help="from a multi-platform image, load only this platform (default: all it holds, else the host's)",
    )


def run(args: argparse.Namespace) -> int:
    import shutil
    import sys
    from pathlib import Path

    from builder.errors import UsageError
    from builder.oci.load import load_archive
    from builder.platforms import Platform
    from builder.refs import familiar
    from builder.store import Store

    store = Store.open(args.root, form=args.layer_form)
    platform = Platform.parse(args.platform) if args.platform else None
    spool = None
    try:
        if args.input:
            path = Path(args.input)
        else:
            if sys.stdin.isatty():
                raise UsageError("no archive given", hint="use -i FILE or pipe an archive to standard input")
            spool = store.staging_dir()
            path = spool / "archive.tar"
            with open(path, "wb") as out:
                shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        loaded = load_archive(store, path, platform=platform)
    finally:
        if spool is not None:
            store.discard_staging(spool)
    if not args.quiet:
        for item in loaded:
            if item.tags:
                for tag in item.tags:
                    print(f"Loaded image: {familiar(tag)}")
            else:
                print(f"Loaded image ID: {item.image.id}")
    return 0
