"""pybuild: build OCI container images from a Buildfile (the Dockerfile language) without a daemon.

The public Python API, for CI scripts and tests::

    import builder
    result = builder.build("app/", tags=["app:1"], build_args={"VERSION": "2"})
    result.manifest_digest, result.image_id, result.size
    for step in result.steps:
        step.stage, step.line, step.text, step.cached, step.reason, step.seconds, step.layer

Importing this package imports nothing heavy; `build` loads the builder on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from builder.executor import BuildResult

from builder.version import __version__

__all__ = ["__version__", "build"]


def build(
    context: str | Path = ".",
    *,
    file: str | Path | None = None,
    tags: Iterable[str] = (),
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    no_cache: bool = False,
    no_cache_filter: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    network: str = "default",
    outputs: Iterable[str] = (),
    pull: str = "missing",
    platform: str | None = None,
    root: str | Path | None = None,
    progress: str = "quiet",
    compression: str = "gzip",
    secrets: Iterable[str] = (),
    ssh: Iterable[str] = (),
    allow: Iterable[str] = (),
    cache_from: Iterable[str] = (),
    cache_to: Iterable[str] = (),
    insecure_registries: Iterable[str] = (),
    provenance: str | None = None,
    sbom: str | None = None,
    attest: Iterable[str] = (),
) -> BuildResult:
    """Build the Buildfile ``file`` (default ``CONTEXT/Buildfile``) in ``context`` and tag the result.

    Arguments mirror ``pybuild build``'s options (``outputs`` takes ``-o`` specs such as
    ``"type=oci,dest=out.tar"``; ``secrets`` ``--secret`` specs such as ``"id=tok,src=token.txt"``; ``ssh``
    ``--ssh`` specs such as ``"default"``; ``allow`` entitlements such as ``"security.insecure"``;
    ``cache_from``/``cache_to`` buildx cache specs such as ``"type=registry,ref=host/app:cache,mode=max"`` or
    ``"type=local,src=DIR"``; ``"type=inline"`` puts the cache into the image); ``insecure_registries``
    ``host[:port]`` names reached over plain HTTP, as the global ``--insecure-registry``; ``provenance``,
    ``sbom`` and ``attest`` as ``--provenance``, ``--sbom`` and ``--attest`` take them: a build that pushes
    gets ``mode=min`` provenance unless ``provenance="false"``). Returns a
    `BuildResult` with the manifest digest, the image ID, its size and one `StepReport` per step (cached or
    why it ran, duration, layer descriptor). Raises
    `builder.errors.BuildError` (with a source span where one applies) when the build fails.
    """
    from builder.attest.request import check_outputs, parse_attestations
    from builder.executor import BuildOptions
    from builder.executor import build as run_build
    from builder.layer.form import ROOT_FORM, USER_NAMESPACE_FORM
    from builder.mounts import parse_allow, parse_secret, parse_ssh
    from builder.outputs import parse_output
    from builder.registry.options import RegistryOptions
    from builder.rootless.detect import in_user_namespace
    from builder.sharedcache.spec import parse_cache_spec, with_inline_build_arg
    from builder.ui import Reporter
    from builder.userpaths import (
        absolute,
        absolute_cache_spec,
        absolute_output,
        buildfile_name,
        context_directory,
    )

    # relative paths are the caller's, resolved here once against its working directory (builder.userpaths)
    directory = context_directory(context)
    parsed_outputs = [absolute_output(parse_output(spec)) for spec in outputs]
    requested = parse_attestations(
        provenance,
        sbom,
        list(attest),
        pushing=any(output.push for output in parsed_outputs),
        build_args=dict(build_args or {}),
    )
    check_outputs(requested, [output.type for output in parsed_outputs])
    options = BuildOptions(
        context=directory,
        buildfile=absolute(file) if file is not None else None,
        buildfile_name=buildfile_name(file, context, directory),
        tags=list(tags),
        build_args=dict(build_args or {}),
        target=target,
        no_cache=no_cache,
        no_cache_filter=[name.lower() for name in no_cache_filter],
        labels=dict(labels or {}),
        network=network,
        root=str(root) if root is not None else None,
        compression=compression,
        outputs=parsed_outputs,
        pull=pull,
        platform=platform,
        secrets=[parse_secret(value) for value in secrets],
        ssh=[parse_ssh(value) for value in ssh],
        allow=parse_allow(allow),
        cache_from=[absolute_cache_spec(parse_cache_spec(spec, export=False)) for spec in cache_from],
        cache_to=with_inline_build_arg(
            [absolute_cache_spec(parse_cache_spec(spec, export=True)) for spec in cache_to],
            dict(build_args or {}),
        ),
        registry=RegistryOptions.of(insecure_registries),
        # decided once, here: how layers are written in the namespace the caller's process is in
        layer_form=USER_NAMESPACE_FORM if in_user_namespace() else ROOT_FORM,
        attestations=requested or None,
    )
    return run_build(options, Reporter(progress))
