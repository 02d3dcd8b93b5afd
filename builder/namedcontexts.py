"""``--build-context NAME=VALUE``: more contexts, named, as buildx defines them.

VALUE is a local directory, a git or tarball URL (`builder.contextsource`), ``docker-image://REF`` or
``oci-layout://PATH[:TAG|@DIGEST]``. The name is then usable where buildx allows it:

* ``FROM NAME``: an image context replaces the base (the Buildfile's ``FROM alpine`` builds on the image
  ``--build-context alpine=docker-image://alpine@sha256:…`` names); a directory becomes a one-layer image of
  its files, owned by root, with BuildKit's history entry ``local source for NAME`` (`directory_image`);
* ``COPY --from=NAME`` and ``RUN --mount=from=NAME``: the image's root filesystem, or the directory.

A name that is also a stage's name keeps meaning the stage. An OCI layout is loaded into the store as
``pybuild load`` loads it, and named by its manifest digest, which is never pulled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from builder.errors import UsageError

if TYPE_CHECKING:
    from builder.layer.form import LayerForm


@dataclass(frozen=True)
class NamedContext:
    """One ``--build-context``: ``image`` (a reference, or the manifest digest of an image loaded into the
    store) or ``directory`` (a local or fetched directory)."""

    name: str
    image: str | None = None
    directory: Path | None = None


def split(value: str) -> tuple[str, str]:
    """``NAME=VALUE`` of one ``--build-context``."""
    name, eq, source = value.partition("=")
    if not name or not eq or not source:
        raise UsageError(f"invalid --build-context {value!r}: expected NAME=VALUE")
    return name.strip(), source.strip()


@contextmanager
def open_named_contexts(
    values: list[str], root: str | None, stdin: BinaryIO, *, form: LayerForm
) -> Iterator[dict[str, NamedContext]]:
    """The ``--build-context`` values, fetched or loaded (an OCI layout into the store at ``root``, whose
    layers are in ``form``); fetched directories live as long as the block."""
    from builder.contextsource import materialize

    named: dict[str, NamedContext] = {}
    with ExitStack() as stack:
        for value in values:
            name, source = split(value)
            if name in named:
                raise UsageError(f"--build-context {name} is given twice")
            if source.startswith("docker-image://"):
                named[name] = NamedContext(name, image=source.removeprefix("docker-image://"))
            elif source.startswith("oci-layout://"):
                named[name] = NamedContext(name, image=_load_layout(source, root, form))
            elif "://" in source and not source.startswith(("http://", "https://", "git://", "ssh://")):
                raise UsageError(f"--build-context {name}: unsupported source {source!r}")
            else:
                if source == "-":
                    raise UsageError(f"--build-context {name}: stdin cannot be a named context")
                context = stack.enter_context(materialize(source, stdin))
                if context.buildfile_text is not None:
                    raise UsageError(f"--build-context {name}: {source} is not a directory or an archive")
                named[name] = NamedContext(name, directory=context.directory)
        yield named


def _load_layout(source: str, root: str | None, form: LayerForm) -> str:
    """Load the OCI layout ``oci-layout://PATH[:TAG|@DIGEST]`` into the store; the chosen manifest's digest."""
    from builder.oci.load import load_archive
    from builder.store import Store

    spec = source.removeprefix("oci-layout://")
    path, at, digest = spec.partition("@")
    tag = None
    if not at and ":" in Path(path).name:
        path, _, tag = path.rpartition(":")
    layout = Path(path)
    if not (layout / "index.json").is_file():
        raise UsageError(f"--build-context {source}: {path} is not an OCI layout (no index.json)")
    if tag is not None:
        digest = _tagged(layout, tag, source)
    with Store.open(root, form=form) as store:
        loaded = load_archive(store, layout)
        digests = {item.index or item.image.manifest_digest: item for item in loaded}
        if digest:
            if digest not in digests and not store.has_blob(digest):
                raise UsageError(f"--build-context {source}: the layout holds no image {digest}")
            return digest
        if len(digests) != 1:
            raise UsageError(
                f"--build-context {source}: the layout holds {len(digests)} images",
                hint="name one: oci-layout://PATH:TAG or oci-layout://PATH@sha256:…",
            )
        return next(iter(digests))


def _tagged(layout: Path, tag: str, source: str) -> str:
    index = json.loads((layout / "index.json").read_text())
    for entry in index.get("manifests", []):
        if (entry.get("annotations") or {}).get("org.opencontainers.image.ref.name") == tag:
            return entry["digest"]
    raise UsageError(f"--build-context {source}: no image tagged {tag!r} in the layout")


def base_images(named: Mapping[str, NamedContext]) -> dict[str, str | None]:
    """For the planner: each name → the image it stands for in FROM, or None for a directory."""
    return {name: context.image for name, context in named.items()}


def pull_policy(ref: str, requested: str) -> str:
    """``--pull`` for ``ref``: a bare manifest digest (an OCI layout's image given by ``--build-context``,
    loaded into the store) names no repository to pull from, so it is only read from the store."""
    return "never" if ref.startswith("sha256:") else requested


def directory_image(store, named: NamedContext, platform):
    """The image ``FROM NAME`` builds on for a directory context: one layer holding its files (owned by root,
    modes and times kept), history ``local source for NAME`` as BuildKit writes it. The config carries no
    time of its own, so the same files give the same image and later steps stay cached."""
    import copy
    import os
    import tarfile

    from builder.oci.config import new_config
    from builder.oci.image import commit_image
    from builder.oci.importer import import_rootfs

    def rooted(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    staging = store.staging_dir()
    try:
        archive = staging / "context.tar"
        with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
            for entry in sorted(os.listdir(named.directory)):
                tar.add(named.directory / entry, arcname=entry, filter=rooted)
        imported = import_rootfs(store, archive, None, platform=platform)
    finally:
        store.discard_staging(staging)
    config = new_config(platform, created="1970-01-01T00:00:00Z")
    config["rootfs"] = copy.deepcopy(imported.config["rootfs"])
    config["history"] = [{"created_by": f"local source for {named.name}"}]
    config["config"] = {"WorkingDir": "/"}  # BuildKit's config for a local source as a base
    return commit_image(store, config, imported.layers)
