"""``pybuild images [REPOSITORY[:TAG]]``: list the tagged images in the store, as ``docker images`` does.

Columns REPOSITORY, TAG, IMAGE ID (the config digest, 12 hex digits unless ``--no-trunc``), CREATED, SIZE
(unpacked size of the image's layers), newest first. ``-q`` prints only the distinct image IDs.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repository", nargs="?", help="show only this repository (or REPOSITORY:TAG)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate image IDs")
    parser.add_argument("--digests", action="store_true", help="show manifest digests")


def run(args: argparse.Namespace) -> int:
    from builder.errors import BuildError
    from builder.oci.display import LayerSizes, human_age, human_size, table
    from builder.oci.image import read_image, tagged_images
    from builder.refs import RefError, parse_ref
    from builder.store import Store

    store = Store.open(args.root, form=args.layer_form)
    wanted = parse_ref(args.repository, default_tag=False) if args.repository else None
    sizes = LayerSizes(store)
    rows = []
    for tag_key, digest in tagged_images(store):
        try:
            ref = parse_ref(tag_key)
        except RefError:
            continue
        if wanted is not None and (ref.name != wanted.name or wanted.tag not in (None, ref.tag)):
            continue
        try:
            image = read_image(store, digest)
        except BuildError as error:
            print(f"pybuild: warning: {ref.familiar()}: {error.message}", file=sys.stderr)
            continue
        created = image.config.get("created")
        # A store may hold an image loaded before configs were validated: one odd field spoils no listing.
        rows.append((created if isinstance(created, str) else "", ref, image))
    rows.sort(key=lambda row: (row[0], row[1].familiar()), reverse=True)

    def image_id(image) -> str:
        return image.id if args.no_trunc else image.id.removeprefix("sha256:")[:12]

    if args.quiet:
        seen: list[str] = []
        for _created, _ref, image in rows:
            if image_id(image) not in seen:
                seen.append(image_id(image))
        if seen:
            print("\n".join(seen))
        return 0
    headers = ["REPOSITORY", "TAG", *(["DIGEST"] if args.digests else []), "IMAGE ID", "CREATED", "SIZE"]
    body = [
        [
            ref.familiar_name,
            ref.tag or "<none>",
            *([image.manifest_digest] if args.digests else []),
            image_id(image),
            human_age(created),
            human_size(sizes.image_size(image)),
        ]
        for created, ref, image in rows
    ]
    print(table(headers, body))
    return 0
