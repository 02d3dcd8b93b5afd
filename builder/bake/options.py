"""A resolved bake target → `builder.buildtypes.BuildOptions`, every key mapped or refused by name.

Paths are the user's, as buildx takes them: ``context`` against the working directory, ``dockerfile``
against the context (unless absolute), ``src=``/``dest=`` of secrets, outputs and caches against the working
directory. A ``contexts`` value ``target:NAME`` becomes a `TargetLink` that `builder.bake.run.build_many`
replaces by the built target's image; the other values are resolved as ``--build-context`` resolves them.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from builder.bake.model import Target
from builder.bake.resolve import linked_name
from builder.buildtypes import BuildOptions
from builder.errors import BuildError, UsageError
from builder.layer.form import ROOT_FORM, LayerForm
from builder.registry.options import DEFAULT_REGISTRY, RegistryOptions


@dataclass(frozen=True)
class TargetLink:
    """A named context fed by another target of the same bake (``contexts = { NAME = "target:OTHER" }``):
    an image context whose image is the built ``target``."""

    name: str
    target: str


class TargetError(BuildError):
    """A target's build failed: the error as the target's build raised it, prefixed with the target's name
    (``target "api": Buildfile:3:1: error: …``); its exit code, line, hint and output are the original's."""

    def __init__(self, target: str, error: BuildError) -> None:
        super().__init__(error.message, error.span, hint=error.hint, output_tail=error.output_tail)
        self.target = target
        self.error = error
        self.exit_code = error.exit_code

    def __str__(self) -> str:
        return f'target "{self.target}": {self.error}'


@dataclass
class Globals:
    """What every target shares: the store, the working directory, the stdin of the command, the layer form
    and the registry options."""

    root: str | None
    cwd: Path
    stdin: object = None
    #: how layers are written on this host and how registries are reached: the CLI decides them once
    form: LayerForm = ROOT_FORM
    registry: RegistryOptions = DEFAULT_REGISTRY


def to_build_options(target: Target, common: Globals, stack: ExitStack) -> BuildOptions:
    """The build of ``target``. Fetched contexts (git, tarball URLs) live as long as ``stack``. A value
    pybuild refuses raises a `TargetError` naming the target."""
    try:
        return _build_options(target, common, stack)
    except TargetError:
        raise
    except BuildError as error:
        raise TargetError(target.name, error) from None


def _build_options(target: Target, common: Globals, stack: ExitStack) -> BuildOptions:
    from builder.attest.request import check_outputs, parse_attestations
    from builder.contextsource import buildfile_in, materialize
    from builder.mounts import parse_secret, parse_ssh
    from builder.outputspec import parse_annotation, parse_output, with_annotations
    from builder.runoptions import parse_run_options
    from builder.sharedcache.spec import parse_cache_spec
    from builder.userpaths import absolute, absolute_cache_spec, absolute_output

    cwd = common.cwd
    context_text = (target.context or ".").removeprefix("cwd://")
    if not context_text:
        context_text = "."
    remote = _is_remote(context_text)
    if not remote and not (cwd / context_text).is_dir():
        raise UsageError(f"build context {context_text!r} is not a directory")
    source = stack.enter_context(
        materialize(context_text if remote else str(absolute(context_text, cwd)), None)
    )
    network = target.network or "default"
    if network not in ("default", "host", "none"):
        raise UsageError(f"network {network!r} is not supported (default, host or none)")
    options = BuildOptions(
        context=source.directory, root=common.root, layer_form=common.form, registry=common.registry
    )
    options.tags = list(target.tags or [])
    options.build_args = {k: v for k, v in (target.args or {}).items() if v is not None}
    options.labels = {k: v for k, v in (target.labels or {}).items() if v is not None}
    options.target = target.target
    options.no_cache = bool(target.no_cache)
    options.no_cache_filter = [name.lower() for name in target.no_cache_filter or []]
    options.pull = "always" if target.pull else "missing"
    options.platform = ",".join(target.platforms) if target.platforms else None
    options.network = network
    options.secrets = [parse_secret(_local_src(v, cwd)) for v in target.secret or []]
    options.ssh = [parse_ssh(_local_ssh(v, cwd)) for v in target.ssh or []]
    options.cache_from = [
        absolute_cache_spec(parse_cache_spec(v, export=False), cwd) for v in target.cache_from or []
    ]
    options.cache_to = [
        absolute_cache_spec(parse_cache_spec(v, export=True), cwd) for v in target.cache_to or []
    ]
    options.run_options = parse_run_options([], list(target.ulimits or []), target.shm_size)
    outputs = []
    for text in target.output or []:
        if _is_load(text):
            continue  # buildx's --load (type=docker without dest): the store holds every result anyway
        outputs.append(absolute_output(parse_output(text), cwd))
    annotations = [a for text in target.annotations or [] for a in parse_annotation(text)]
    if annotations and not any(o.type not in ("local", "tar") for o in outputs):
        from builder.outputspec import OutputSpec

        outputs.append(OutputSpec("image"))
    options.outputs = [with_annotations(o, annotations) for o in outputs]
    # attest= entries as --attest takes them; a target that pushes gets buildx's default provenance
    attestations = parse_attestations(
        None,
        None,
        list(target.attest or []),
        pushing=any(o.push for o in options.outputs),
        build_args=options.build_args,
        no_default=os.environ.get("BUILDX_NO_DEFAULT_ATTESTATIONS"),
    )
    check_outputs(attestations, [o.type for o in options.outputs])
    options.attestations = attestations or None
    if target.dockerfile_inline is not None:
        options.buildfile_text = target.dockerfile_inline
        options.buildfile = Path("Dockerfile")
        options.buildfile_name = "Dockerfile"
    elif source.buildfile_text is not None:
        options.buildfile_text = source.buildfile_text
        options.buildfile = Path("Dockerfile")
    elif remote:
        options.buildfile = buildfile_in(source, target.dockerfile)
    else:
        dockerfile = target.dockerfile or "Dockerfile"
        joined = dockerfile if os.path.isabs(dockerfile) else os.path.join(context_text, dockerfile)
        options.buildfile = absolute(joined, cwd)
        options.buildfile_name = os.path.normpath(joined)
    options.named_contexts = _named_contexts(target, common, stack)
    return options


def _named_contexts(target: Target, common: Globals, stack: ExitStack) -> dict:
    from builder.namedcontexts import open_named_contexts

    named: dict = {}
    others = []
    for name, value in (target.contexts or {}).items():
        linked = linked_name(value)
        if linked is not None:
            named[name] = TargetLink(name, linked)
        elif value.startswith(("docker-image://", "oci-layout://")) or _is_remote(value):
            others.append(f"{name}={value}")
        else:
            others.append(f"{name}={common.cwd / value.removeprefix('cwd://')}")
    if others:
        named.update(
            stack.enter_context(open_named_contexts(others, common.root, common.stdin, form=common.form))
        )
    return named


def _is_remote(text: str) -> bool:
    from builder.contextsource import is_remote

    return text != "-" and is_remote(text)


def _is_load(output: str) -> bool:
    fields = dict(part.partition("=")[::2] for part in output.split(","))
    return fields.get("type") == "docker" and not fields.get("dest")


def _local_src(secret: str, cwd: Path) -> str:
    """A secret's ``src=`` made absolute against the working directory."""
    parts = []
    for part in secret.split(","):
        key, eq, value = part.partition("=")
        if key.strip() in ("src", "source") and eq and not os.path.isabs(value):
            value = str(cwd / value)
        parts.append(f"{key}{eq}{value}")
    return ",".join(parts)


def _local_ssh(value: str, cwd: Path) -> str:
    """An ``ssh`` entry's socket or key paths made absolute against the working directory."""
    ident, eq, rest = value.partition("=")
    if not eq:
        return value
    return f"{ident}=" + ",".join(str(cwd / p) if p and not os.path.isabs(p) else p for p in rest.split(","))
