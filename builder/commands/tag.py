"""``pybuild tag SOURCE TARGET``: give an image another name (``TARGET`` is a name with an optional tag).

A source naming an image index (a multi-platform build) gives the new name the whole index, as
``docker buildx imagetools create`` would; a single image keeps its manifest."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE_IMAGE", help="name, name:tag, digest or image ID")
    parser.add_argument("target", metavar="TARGET_IMAGE", help="new name, NAME[:TAG]")


def run(args: argparse.Namespace) -> int:
    from builder.oci.image import resolve
    from builder.oci.index import find_index
    from builder.refs import RefError, parse_ref
    from builder.store import Store

    target = parse_ref(args.target)
    if target.digest is not None:
        raise RefError(f"refusing to create a tag with a digest reference: {args.target}")
    store = Store.open(args.root, form=args.layer_form)
    index = find_index(store, args.source)
    digest = index.digest if index is not None else resolve(store, args.source)[0].manifest_digest
    store.set_tag(target.tag_key, digest)
    return 0
