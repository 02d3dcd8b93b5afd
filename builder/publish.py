"""The end of a build: each platform's final stage committed as an image, several gathered in an index, the
names tagged, and the result written where ``-o``/``--push`` send it.

One platform gives one image manifest (tagged, exported and pushed as such, as BuildKit does for a single
``--platform``). Several give one OCI index in the store over the per-platform manifests: the tags point at
the index, ``-o type=oci`` writes it as a nested index, ``--push`` pushes every manifest then the index, and
``-o type=local`` writes one directory per platform (``linux_amd64/``…) as BuildKit's local exporter does.
"""

from __future__ import annotations

import copy
from pathlib import Path


def commit_final(store, final, created: str, labels: dict[str, str], tags: list[str]):
    """Commit a final stage (`builder.executor.StageResult`) as an image tagged ``tags``; returns it."""
    from builder.oci.image import commit_image
    from builder.oci.manifest import descriptor

    final.state.fill_history_times(created)
    document = copy.deepcopy(final.state.document)
    if labels:
        document.setdefault("config", {}).setdefault("Labels", {}).update(labels)
    # fresh descriptors: a cache record's copy may list its fields in another order
    layers = [
        descriptor(d["mediaType"], d["digest"], d["size"], annotations=d.get("annotations"))
        for d in final.layers
    ]
    return commit_image(store, document, layers, tags=tags)


def write_outputs(store, result, options, reporter) -> None:
    """Send ``result`` (an `Image` or an `ImageIndex`) to each of ``options.outputs`` (already checked by
    `builder.executor.check_request`), with a progress bar per export in a terminal."""
    from builder.oci.index import ImageIndex
    from builder.outputs import export
    from builder.refs import parse_ref

    refs = [parse_ref(tag) for tag in options.tags]
    for output in options.outputs:
        kind = output["type"]
        if kind == "registry":  # the registry client draws its own transfer bars
            for ref in refs:
                if isinstance(result, ImageIndex):
                    from builder.registry.push import push_index

                    push_index(store, result, ref)
                else:
                    from builder.registry.push import push_image

                    push_image(store, result, ref)
        elif kind == "image":
            continue
        elif not isinstance(result, ImageIndex) or kind == "oci":
            reporter.info(f"exporting to {kind}: {output.get('dest', '')}")
            with reporter.progress(f"exporting {kind}") as advance:
                export(store, result, refs, output, advance)
        else:  # type=local of several platforms: a directory each
            for image, platform in zip(result.images, result.platforms, strict=True):
                export(store, image, refs, {**output, "dest": str(Path(output["dest"]) / platform.slug)})
