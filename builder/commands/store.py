"""``pybuild store verify``, ``pybuild store gc [--dry-run]`` and ``pybuild store sync``: check the store,
collect its garbage, make it durable.

``verify`` re-hashes every blob and checks every reference (tags → manifests → configs and layers); it prints
each problem and exits 1 if there is any. ``gc`` removes blobs and unpacked layers that no tag and no cache
record reaches (nothing younger than an hour, so running builds keep what they made), after removing what
killed builds left (containers, mounts, run directories), and ends with a durability point. ``sync`` is
that durability point alone: it flushes the store's file system once, so what builds wrote since the last
one needs no check after a power loss (see `builder.store.journal`).
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("verify", help="check every blob's digest and every reference")
    gc = actions.add_parser("gc", help="remove what nothing references")
    gc.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    actions.add_parser("sync", help="flush what builds wrote to disk, so a power loss needs no check of it")


def run(args: argparse.Namespace) -> int:
    from builder.oci.display import human_size
    from builder.store import Store

    with Store.open(args.root, form=args.layer_form) as store:
        if args.action == "verify":
            problems = store.verify()
            for problem in problems:
                print(problem)
            print(f"store {store.root}: {'sound' if not problems else f'{len(problems)} problems'}")
            return 1 if problems else 0
        if args.action == "sync":
            store.sync()
            print(f"store {store.root}: on disk")
            return 0
        if not args.dry_run:
            from builder import runtime  # a killed build's containers, mounts and run directories go first

            runtime.cleanup_stale(store.state_dir("runtime"))
        report = store.gc(dry_run=args.dry_run)
        verb = "would remove" if args.dry_run else "removed"
        size = human_size(report.blob_bytes)
        print(f"{verb} {len(report.blobs)} blobs ({size}) and {len(report.layers)} layers")
        return 0
