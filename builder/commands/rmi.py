"""``pybuild rmi IMAGE...``: remove image names from the store.

A name (``busybox``, ``app:1``) removes that tag. An image ID or digest (or a unique prefix of the ID, as
``build -q`` prints it) removes every tag of that image, but only with ``-f`` when there are several (as
Docker); an untagged image given by ID is forgotten (no longer found by its ID). The blobs and layers stay in
the store until garbage collection. Prints ``Untagged: NAME`` per removed tag and ``Deleted: ID`` for an
image no name is left on; an image that is not found is reported and the others are still processed (exit
code 1).
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="name, name:tag, digest or image ID")
    parser.add_argument("-f", "--force", action="store_true", help="remove all tags of an image given by ID")


def _untag(store, name: str, force: bool) -> list[str]:
    from builder.errors import BuildError
    from builder.oci.image import ImageNotFound, resolve
    from builder.refs import RefError, looks_like_id, parse_ref

    try:
        ref = parse_ref(name)
    except RefError:
        if not looks_like_id(name):
            raise
        ref = None
    if ref is not None and ref.digest is None and store.remove_tag(ref.tag_key):
        return [ref.tag_key]
    image, tag_key = resolve(store, name)
    if tag_key is not None:  # found by a tag that another process removed meanwhile
        raise ImageNotFound(f"image not found: {name}")
    tags = []
    for key, digest in store.tags().items():
        if digest == image.manifest_digest or (
            store.has_blob(digest) and _config_of(store, digest) == image.id
        ):
            tags.append(key)
    if len(tags) > 1 and not force:
        short = image.id.removeprefix("sha256:")[:12]
        raise BuildError(
            f"unable to remove {short}: the image is referenced by {len(tags)} names",
            hint="remove them by name, or use -f to remove them all",
        )
    removed = [tag for tag in sorted(tags) if store.remove_tag(tag)]
    if not any(_config_of(store, digest) == image.id for digest in store.tags().values()):
        from builder.oci import imageids

        imageids.forget(store, image.id)
        removed.append(image.id)
    return removed


def _config_of(store, digest: str) -> str | None:
    from builder.errors import BuildError
    from builder.oci.image import read_image

    try:
        return read_image(store, digest).id
    except BuildError:
        return None


def run(args: argparse.Namespace) -> int:
    import sys

    from builder.errors import BuildError, render
    from builder.refs import familiar
    from builder.store import Store

    store = Store.open(args.root, form=args.layer_form)
    code = 0
    for name in args.images:
        try:
            removed = _untag(store, name, args.force)
        except BuildError as error:
            print(render(error), file=sys.stderr)
            code = 1
            continue
        for tag in removed:
            print(f"Deleted: {tag}" if tag.startswith("sha256:") else f"Untagged: {familiar(tag)}")
    return code
