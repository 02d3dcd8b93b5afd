"""The end of a build: each platform's final stage committed as an image, several gathered in an index, the
names tagged, and the result written where ``-o``/``--push`` send it.

One platform gives one image manifest (tagged, exported and pushed as such, as BuildKit does for a single
``--platform``). Several give one OCI index in the store over the per-platform manifests: the tags point at
the index, ``-o type=oci`` writes it as a nested index, ``--push`` pushes every manifest then the index, and
``-o type=local`` writes one directory per platform (``linux_amd64/``…) as BuildKit's local exporter does.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path


def commit_final(store, final, created: str, labels: dict[str, str], tags: list[str]):
    """Commit a final stage (`builder.solver.results.StageResult`) as an image tagged ``tags``; returns it."""
    from builder.oci.image import commit_image

    final.state.fill_history_times(created)
    document = copy.deepcopy(final.state.document)
    if labels:
        document.setdefault("config", {}).setdefault("Labels", {}).update(labels)
    layers = [layer.descriptor() for layer in final.layers]
    return commit_image(store, document, layers, tags=tags)


def keep_compression(store, result, compression: str, tags: list[str]):
    """``result`` (an `Image` or `ImageIndex`, tagged ``tags``) with its layers kept only unpacked compressed
    with ``compression`` and ``tags`` moved to it, when that is not the default gzip; else ``result``.

    An explicit ``--compression zstd`` stays with the stored image, so a later `pybuild push` (which
    compresses what is kept unpacked with gzip) sends what the build asked for; with the default nothing is
    compressed until the image leaves the store."""
    from builder.oci.index import ImageIndex
    from builder.refs import parse_ref
    from builder.reshape import packed

    if compression == "gzip":
        return result
    made = packed(store, result, compression)
    if made is not result:
        digest = made.digest if isinstance(made, ImageIndex) else made.manifest_digest
        for tag in tags:
            store.set_tag(parse_ref(tag).tag_key, digest)
    return made


def made_layers(finals) -> set[str]:
    """The diff_ids of the layers the build's steps made (run now or cached), not taken from a base image:
    what an output's ``compression`` applies to: those a step made carry the time they were ``created``."""
    return {layer.diff_id for final in finals for layer in final.layers if layer.created is not None}


def write_outputs(
    store, result, options, reporter, made: set[str] = frozenset(), statements=None, platforms=None, epoch=None
):
    """Send ``result`` (an `Image` or an `ImageIndex`) to each of ``options.outputs`` (`OutputSpec` values
    already checked by `builder.executor.check_request`), each made over as it asks (`builder.reshape`,
    with ``made`` the layers the build made), with a progress bar per export in a terminal. Image outputs
    tag their ``name=`` references (default: the ``-t`` tags) and push them when asked; each push prints
    the reference and the digest it was pushed as. Returns the image (or index) the last image output
    stored or pushed when it was made over, else None.

    ``statements`` (a `builder.attest.manifests.StatementSource`, None for none) attests each output that
    ``options.attestations`` says carries attestations: image, registry and oci outputs get the attestation
    manifests in their index (a single image becomes an index, see `builder.attest.manifests.attach`), local
    and tar outputs get them as files (dated ``epoch``, SOURCE_DATE_EPOCH, else now), and without an image
    output the ``-t`` tags name the attested index; ``platforms`` are the platforms built."""
    from builder.attest.outputs import attest_store_image, file_time, local_with_attestations
    from builder.oci.index import ImageIndex
    from builder.outputs import export
    from builder.refs import parse_ref
    from builder.reshape import packed, reshape

    published = None
    several = isinstance(result, ImageIndex)
    request = options.attestations
    for output in options.outputs:
        target = reshape(store, result, output, made, options.compression)
        names = [parse_ref(name) for name in (output.names or options.tags)]
        kind = output.type
        attested = statements is not None and request is not None and request.applies_to(kind)
        if attested and kind in ("image", "registry", "oci"):
            from builder.attest.manifests import attach_from

            # attestations name the image by the digest it is pushed as: its layers compressed first
            target = packed(store, target, options.compression)
            target = attach_from(store, target, statements, names, platforms)
        elif attested:
            reporter.info(f"exporting to {kind}: {'stdout' if output.to_stdout else output.dest}")
            mtime = file_time(epoch)
            local_with_attestations(
                store, target, names, output, statements, platforms, several, mtime, request
            )
            continue
        if kind in ("image", "registry"):
            digest = target.digest if isinstance(target, ImageIndex) else target.manifest_digest
            for ref in names:
                store.set_tag(ref.tag_key, digest)
            if output.push:
                _push(store, target, names, reporter, options.registry)
            published = target if target is not result else published
        elif not several or kind == "oci":
            reporter.info(f"exporting to {kind}: {'stdout' if output.to_stdout else output.dest}")
            with reporter.progress(f"exporting {kind}") as advance:
                export(store, target, names, output, advance)
        else:  # type=local of several platforms: a directory each
            for image, platform in zip(target.images, target.platforms, strict=True):
                export(store, image, names, replace(output, dest=str(Path(output.dest) / platform.slug)))
    return published or attest_store_image(store, result, options, statements, platforms)


def _push(store, target, refs: list, reporter, registry) -> None:
    """Push ``target`` to each of ``refs`` with ``registry``'s options (`RegistryOptions`; the registry client
    draws its own transfer bars)."""
    from builder.oci.index import ImageIndex
    from builder.registry.push import push_image, push_index

    for ref in refs:
        if isinstance(target, ImageIndex):
            pushed = push_index(store, target, ref, registry=registry)
        else:
            pushed = push_image(store, target, ref, registry=registry)
        reporter.info(f"pushing manifest for {ref}@{pushed.digest} done")
