"""``pybuild history IMAGE``: the steps that made an image, newest first, as ``docker history`` shows them.

Columns IMAGE (the image ID on the top entry, ``<missing>`` below, as for any image not built locally step by
step), CREATED, CREATED BY (cut to 45 characters unless ``--no-trunc``), SIZE (unpacked size of the layer the
step made, ``0B`` for steps that made none) and COMMENT.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="name, name:tag, digest or image ID")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    parser.add_argument(
        "-H", "--human", default="true", choices=["true", "false"], help="human sizes and dates"
    )


def run(args: argparse.Namespace) -> int:
    from builder.oci.config import layer_history
    from builder.oci.display import LayerSizes, human_age, human_size, table
    from builder.oci.image import load_image
    from builder.store import Store

    store = Store.open(args.root, form=args.layer_form)
    image = load_image(store, args.image)
    sizes = LayerSizes(store)
    blob_sizes = dict(zip(image.diff_ids, (layer["size"] for layer in image.layers), strict=True))
    human = args.human == "true"
    rows = []
    entries = list(reversed(layer_history(image.config)))
    for number, (entry, diff_id) in enumerate(entries):
        top = number == 0
        image_id = (
            (image.id if args.no_trunc else image.id.removeprefix("sha256:")[:12]) if top else "<missing>"
        )
        if args.quiet:
            rows.append([image_id])
            continue
        created_by = entry.get("created_by", "")
        if not args.no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        size = sizes.size(diff_id, blob_sizes[diff_id]) if diff_id else 0
        created = entry.get("created", "")
        rows.append(
            [
                image_id,
                human_age(created) if human else created,
                created_by,
                human_size(size) if human else str(size),
                entry.get("comment", ""),
            ]
        )
    if args.quiet:
        print("\n".join(row[0] for row in rows))
        return 0
    print(table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], rows))
    return 0
