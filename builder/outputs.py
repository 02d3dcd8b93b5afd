"""Where a build's result goes besides the store: ``-o type=oci|docker|local|tar,dest=…`` as buildx spells it
(parsed into `builder.outputspec.OutputSpec`).

* ``registry`` (or ``image,push=true``): push to the tags' registries, as ``--push`` does;
* ``oci``: an OCI image layout as a tar (or a directory when ``dest`` is one, or ``tar=false``);
* ``docker``: a docker-archive tar (``docker load``/``podman load``);
* ``local``: the final root filesystem, flattened, into the directory ``dest``;
* ``tar``: the same root filesystem as a tar file.

Archives are written to a temp file beside ``dest`` and renamed when complete, so a failure leaves no partial
file; ``dest=-`` streams them to stdout instead. Layers are streamed from the store; nothing is held in
memory.
"""

from __future__ import annotations

import errno
import os
import secrets
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from builder.faults import checkpoint

# the parsing of ``-o`` lives in builder.outputspec; these names stay importable from here
from builder.outputspec import OUTPUT_TYPES, OutputSpec, parse_output  # noqa: E402,F401


def write_archive_file(dest: Path, write: Callable, advance: Callable[[int], None] | None = None) -> None:
    """Call ``write(sink)`` with a `TarSink` over a temp file beside ``dest``; rename it on success.
    ``dest`` ``-`` is stdout. ``advance(n)`` is told of every n bytes written (a progress bar)."""
    from builder import diskfull
    from builder.fsops.layerstream import CountingWriter
    from builder.oci.archive import TarSink

    with diskfull.naming(str(dest)), output_file(Path(dest)) as out:
        sink = TarSink(CountingWriter(out, advance) if advance else out)
        try:
            write(sink)
            checkpoint("export.partial")
            sink.close()
        except BaseException:
            sink.abort()
            raise


@contextmanager
def output_file(dest: Path) -> Iterator[BinaryIO]:
    """A file to write ``dest``'s new content into; it replaces ``dest`` (mode 0644) when the block ends
    without an exception, and vanishes otherwise. ``-`` is stdout (left open).

    The file is anonymous (O_TMPFILE) until it is complete, so even a process killed half-way leaves nothing
    beside ``dest``; on a file system without O_TMPFILE it is a named temp file deleted on failure.
    """
    if str(dest) == "-":
        import sys

        yield sys.stdout.buffer  # a stream: what was written is the reader's, there is nothing to undo
        sys.stdout.buffer.flush()
        return
    directory = dest.parent if str(dest.parent) else Path(".")
    try:
        fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644)
        tmp = None
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            raise
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fchmod(out.fileno(), 0o644)
            if tmp is None:
                # Named only now, under a temp name for the moment it takes to rename it over dest.
                tmp = str(directory / f".{dest.name}.{secrets.token_hex(6)}")
                _link_anonymous(out.fileno(), tmp)
        os.replace(tmp, dest)
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def _link_anonymous(fd: int, path: str) -> None:
    """Give the O_TMPFILE file ``fd`` the name ``path``. (os.link cannot: with follow_symlinks it calls
    link(2), which does not follow the /proc/self/fd magic link.)"""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd, at_symlink_follow = -100, 0x400
    source = os.fsencode(f"/proc/self/fd/{fd}")
    if libc.linkat(at_fdcwd, source, at_fdcwd, os.fsencode(path), at_symlink_follow) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)


def flatten(store, image, dest: Path) -> None:
    """Apply every layer of ``image`` in order onto the directory ``dest`` (whiteouts delete)."""
    from builder.layer import apply_layer

    dest.mkdir(parents=True, exist_ok=True)
    for layer in image.layers:
        with store.open_blob(layer["digest"]) as blob:
            apply_layer(blob, dest, mode="flatten", form=store.form, name=layer["digest"])
        checkpoint("export.flatten")


def export(
    store,
    image,
    tags: list,
    output: OutputSpec,
    advance: Callable[[int], None] | None = None,
    extra: Callable[[Path], None] | None = None,
) -> None:
    """Write ``image`` (an `builder.oci.image.Image` or an index in ``store``) as ``output`` asks, named
    ``tags``; ``advance`` as for `write_archive_file`. ``extra(root)`` adds files to a ``local`` or ``tar``
    output's root filesystem once it is complete (attestations)."""
    from builder.oci.export import write_docker_archive, write_oci
    from builder.oci.index import ImageIndex
    from builder.oci.layoutdir import write_layout_dir

    kind, dest = output.type, Path(output.dest or "")
    entries = [(image, tags)]
    # index.json's entry describes the index (several platforms) or the manifest (one)
    levels = {"index-descriptor"}
    if not isinstance(image, ImageIndex):
        levels.add("manifest-descriptor")
    outer = {a.key: a.value for a in output.annotations if a.level in levels}
    if kind == "oci" and not output.to_stdout and (dest.is_dir() or not output.tar):
        write_layout_dir(dest, lambda sink: write_oci(store, entries, sink, annotations=outer))
    elif kind == "oci":
        write_archive_file(dest, lambda sink: write_oci(store, entries, sink, annotations=outer), advance)
    elif kind == "docker":
        write_archive_file(dest, lambda sink: write_docker_archive(store, entries, sink), advance)
    elif kind == "local":
        flatten(store, image, dest)
        if extra is not None:
            extra(dest)
    elif kind == "tar":
        staging = store.staging_dir()
        try:
            flatten(store, image, staging)
            if extra is not None:
                extra(staging)
            with (
                output_file(dest) as out,
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar,
            ):
                for entry in sorted(os.listdir(staging)):
                    tar.add(staging / entry, arcname=entry)
        finally:
            store.discard_staging(staging)
