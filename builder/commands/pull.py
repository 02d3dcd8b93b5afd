"""``pybuild pull [--platform P] [-q] IMAGE``: fetch an image from its registry into the store and tag it.

Progress goes to stderr (bars in a terminal, lines otherwise); stdout gets ``Digest: sha256:…``, a status
line and the full reference, as ``docker pull`` prints them (only the reference with ``-q``).
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="name[:tag] or name@sha256:digest")
    parser.add_argument(
        "--platform", help="from a multi-platform image, pull this platform (default: the host's)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the image reference")


def run(args: argparse.Namespace) -> int:
    from builder.platforms import Platform
    from builder.refs import parse_ref
    from builder.registry.options import RegistryOptions
    from builder.registry.progress import Transfers
    from builder.registry.pull import pull_image
    from builder.store import Store

    ref = parse_ref(args.image)
    store = Store.open(args.root, form=args.layer_form)
    platform = Platform.parse(args.platform) if args.platform else None
    progress = Transfers("quiet" if args.quiet else "auto")
    if not args.quiet:
        progress.line(f"{ref.tag or ref.digest}: pulling from {ref.domain}/{ref.path}")
    # a prune waits while blobs that are not tagged yet are being stored
    with store.lock("gc", shared=True):
        result = pull_image(
            store,
            ref,
            platform=platform,
            progress=progress,
            registry=RegistryOptions.of(args.insecure_registry),
        )
    if not args.quiet:
        print(f"Digest: {result.digest}")
        state = "Downloaded newer image" if result.downloaded else "Image is up to date"
        print(f"Status: {state} for {ref.familiar()}")
    print(str(ref))
    return 0
