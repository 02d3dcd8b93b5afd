"""``pybuild push [-q] IMAGE [DEST]``: send an image from the store to a registry.

``DEST`` defaults to ``IMAGE``. Progress per blob goes to stderr; stdout gets ``TAG: digest: sha256:… size:
N`` as ``docker push`` prints it (only the digest with ``-q``).
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="the image in the store: name[:tag], digest or ID")
    parser.add_argument("dest", nargs="?", metavar="DEST", help="where to push it (default: IMAGE)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the manifest digest")


def run(args: argparse.Namespace) -> int:
    from builder.registry.options import RegistryOptions
    from builder.registry.progress import Transfers
    from builder.registry.push import push_image
    from builder.store import Store

    store = Store.open(args.root, form=args.layer_form)
    progress = Transfers("quiet" if args.quiet else "auto")
    registry = RegistryOptions.of(args.insecure_registry)
    result = push_image(store, args.image, args.dest, progress=progress, registry=registry)
    if args.quiet:
        print(result.digest)
    else:
        print(f"{result.ref.tag or result.digest}: digest: {result.digest} size: {result.size}")
    return 0
