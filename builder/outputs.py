"""Where a build's result goes besides the store: ``-o type=oci|docker|local|tar,dest=…`` as buildx spells it.

* ``oci``: an OCI image layout as a tar (or a directory when ``dest`` is one, or ``tar=false``);
* ``docker``: a docker-archive tar (``docker load``/``podman load``);
* ``local``: the final root filesystem, flattened, into the directory ``dest``;
* ``tar``: the same root filesystem as a tar file.

Archives are written to a temp file beside ``dest`` and renamed when complete, so a failure leaves no partial
file. Layers are streamed from the store; nothing is held in memory.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from builder.errors import UsageError
from builder.faults import checkpoint

OUTPUT_TYPES = ("image", "oci", "docker", "local", "tar")


def parse_output(spec: str) -> dict[str, str]:
    """``type=oci,dest=out.tar`` → ``{"type": "oci", "dest": "out.tar"}``; a bare path means ``type=local``."""
    if "=" not in spec:
        return {"type": "local", "dest": spec}
    fields = {}
    for part in spec.split(","):
        key, eq, value = part.partition("=")
        if not eq:
            raise UsageError(f"invalid --output {spec!r}: expected key=value pairs")
        fields[key.strip()] = value.strip()
    kind = fields.get("type")
    if kind not in OUTPUT_TYPES:
        raise UsageError(f"unsupported output type {kind!r} (supported: {', '.join(OUTPUT_TYPES)})")
    if kind != "image" and not fields.get("dest"):
        raise UsageError(f"--output type={kind} needs dest=PATH")
    return fields


def write_archive_file(dest: Path, write: Callable, advance: Callable[[int], None] | None = None) -> None:
    """Call ``write(sink)`` with a `TarSink` over a temp file beside ``dest``; rename it on success.
    ``advance(n)`` is told of every n bytes written (a progress bar)."""
    from builder.commit import CountingWriter
    from builder.oci.archive import TarSink

    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent if str(dest.parent) else ".", prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            sink = TarSink(CountingWriter(out, advance) if advance else out)
            write(sink)
            checkpoint("export.partial")
            sink.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def flatten(store, image, dest: Path) -> None:
    """Apply every layer of ``image`` in order onto the directory ``dest`` (whiteouts delete)."""
    from builder.layer import apply_layer

    dest.mkdir(parents=True, exist_ok=True)
    for layer in image.layers:
        with store.open_blob(layer["digest"]) as blob:
            apply_layer(blob, dest, mode="flatten")
        checkpoint("export.flatten")


def export(
    store, image, tags: list, output: dict[str, str], advance: Callable[[int], None] | None = None
) -> None:
    """Write ``image`` (an `builder.oci.image.Image` in ``store``) as ``output`` asks; ``advance`` as for
    `write_archive_file`."""
    from builder.oci.archive import DirSink
    from builder.oci.export import write_docker_archive, write_oci

    kind, dest = output["type"], Path(output.get("dest", ""))
    entries = [(image, tags)]
    if kind == "oci" and (dest.is_dir() or output.get("tar") == "false"):
        dest.mkdir(parents=True, exist_ok=True)
        write_oci(store, entries, DirSink(dest))
    elif kind in ("oci", "docker"):
        writer = write_oci if kind == "oci" else write_docker_archive
        write_archive_file(dest, lambda sink: writer(store, entries, sink), advance)
    elif kind == "local":
        flatten(store, image, dest)
    elif kind == "tar":
        staging = store.staging_dir()
        try:
            flatten(store, image, staging)
            fd, tmp = tempfile.mkstemp(dir=dest.parent if str(dest.parent) else ".", prefix=f".{dest.name}.")
            with (
                os.fdopen(fd, "wb") as out,
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar,
            ):
                for entry in sorted(os.listdir(staging)):
                    tar.add(staging / entry, arcname=entry)
            os.replace(tmp, dest)
        finally:
            store.discard_staging(staging)
