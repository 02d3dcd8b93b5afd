"""``pybuild save IMAGE... [-o FILE] [--format docker|oci|oci-dir]``: write images to an archive.

``docker`` (default) writes a docker-archive tar that ``docker load`` and ``podman load`` read; ``oci`` an OCI
image layout tar (what ``docker buildx build --output type=oci`` writes); ``oci-dir`` the same layout as a
directory (also chosen by ``--format oci`` with ``-o`` naming an existing directory). Images named by tag are
saved under that name; images named by ID or digest are saved without one. A tar is written to a temp file
beside FILE and renamed when complete, and an ``oci-dir`` is filled under a temp name (or, into an existing
layout, its new files are removed again on failure), so a failed save leaves nothing partial. The images'
content is held against ``store gc`` and ``prune`` (the gc lock, shared) while it is written. Without ``-o``
the tar goes to standard output, which must not be a terminal.
"""

from __future__ import annotations

import argparse

FORMATS = ("docker", "oci", "oci-dir")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="name, name:tag, digest or image ID")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (a directory for oci-dir)")
    parser.add_argument("--format", choices=FORMATS, default="docker", help="archive format (default: docker)")


def _entries(store, names: list[str], pack: bool) -> list:
    """The images to save (each with the names it is saved under); with ``pack`` (an OCI layout) their
    layers kept only unpacked compressed first, as a push would send them."""
    from builder.oci.image import resolve
    from builder.refs import parse_ref
    from builder.reshape import packed

    by_digest: dict[str, tuple] = {}
    for name in names:
        image, tag_key = resolve(store, name)
        image = packed(store, image) if pack else image
        entry = by_digest.setdefault(image.manifest_digest, (image, []))
        if tag_key is not None and all(ref.tag_key != tag_key for ref in entry[1]):
            entry[1].append(parse_ref(tag_key))
    return list(by_digest.values())


def run(args: argparse.Namespace) -> int:
    from builder.store import Store
    from builder.store.gc import GC_LOCK

    store = Store.open(args.root, form=args.layer_form)
    # Shared with builds and loads, exclusive for gc: an image named here is not swept while it is written.
    with store.lock(GC_LOCK, shared=True):
        return _save(store, args)


def _save(store, args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from builder.errors import UsageError
    from builder.oci.archive import TarSink
    from builder.oci.export import write_docker_archive, write_oci
    from builder.oci.layoutdir import write_layout_dir
    from builder.outputs import write_archive_file

    fmt = args.format
    if fmt == "oci" and args.output and Path(args.output).is_dir():
        fmt = "oci-dir"
    entries = _entries(store, args.images, pack=fmt != "docker")
    write = write_docker_archive if fmt == "docker" else write_oci
    if fmt == "oci-dir":
        if not args.output:
            raise UsageError("--format oci-dir needs -o DIRECTORY")
        write_layout_dir(Path(args.output), lambda sink: write(store, entries, sink))
        return 0
    if not args.output:
        if sys.stdout.isatty():
            raise UsageError(
                "refusing to write an archive to a terminal", hint="use -o FILE or redirect the output"
            )
        sink = TarSink(sys.stdout.buffer)
        try:
            write(store, entries, sink)
            sink.close()
        except BaseException:
            sink.abort()
            raise
        sys.stdout.buffer.flush()
        return 0
    write_archive_file(Path(args.output), lambda tar: write(store, entries, tar))
    return 0
