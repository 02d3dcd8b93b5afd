"""What a build is asked to do and what it reports: the data the executor, the steps and the API share.

Kept apart from ``builder.executor`` so the step modules can name these types without importing the executor
that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from builder.layer.form import ROOT_FORM, LayerForm
from builder.registry.options import DEFAULT_REGISTRY, RegistryOptions
from builder.runoptions import RunOptions


@dataclass
class BuildOptions:
    """What a build is asked to do. ``buildfile`` None means ``CONTEXT/Buildfile`` (else ``Dockerfile``);
    ``buildfile_text`` overrides reading it (``-f -``). Paths are absolute (`builder.userpaths` resolves what
    the user typed where it enters); ``buildfile_name`` is how messages name the Buildfile (default: its
    path)."""

    context: Path
    buildfile: Path | None = None
    buildfile_text: str | None = None
    buildfile_name: str | None = None
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    no_cache_filter: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    network: str = "default"
    root: str | None = None
    compression: str = "gzip"
    #: ``-o`` outputs (`builder.outputspec.OutputSpec`) besides the store
    outputs: list = field(default_factory=list)
    pull: str = "missing"
    platform: str | None = None
    #: ``--secret`` sources (`builder.mounts.SecretSource`), ``--ssh`` agents (`SshSource`), ``--allow``
    #: entitlements (``security.insecure``, ``network.host``).
    secrets: list = field(default_factory=list)
    ssh: list = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    #: ``--cache-from`` / ``--cache-to`` (`builder.sharedcache.spec.CacheSpec`); imports are tried in order.
    cache_from: list = field(default_factory=list)
    cache_to: list = field(default_factory=list)
    #: ``--add-host``, ``--ulimit``, ``--shm-size`` (`builder.runoptions.RunOptions`)
    run_options: RunOptions = field(default_factory=RunOptions)
    #: ``--build-context`` names (`builder.namedcontexts.NamedContext`)
    named_contexts: dict = field(default_factory=dict)
    #: ``--jobs``: how many steps may run at once (None: chosen from the machine, `builder.solver.jobs`)
    jobs: int | None = None
    #: ``--trace``: where the build's timeline is written as Chrome trace-event JSON (None: nowhere)
    trace: Path | None = None
    #: how registries are reached (``--insecure-registry``): FROM's pulls, the shared cache, ``--push``
    registry: RegistryOptions = DEFAULT_REGISTRY
    #: how layers are written on this host (`builder.layer.form`), decided by the CLI or the API
    layer_form: LayerForm = ROOT_FORM
    #: ``--provenance``/``--sbom``/``--attest`` (`builder.attest.request.AttestationRequest`); None: none
    attestations: object | None = None


@dataclass
class StepReport:
    """One step of a finished build, as the API returns it."""

    stage: str
    line: int
    text: str
    cached: bool
    reason: str
    seconds: float
    layer: dict | None = None


@dataclass
class BuildResult:
    """A finished build. For several platforms ``manifest_digest`` and ``image_id`` are the index's digest
    (what ``--iidfile`` and the metadata file report, as buildx does) and ``size`` sums the images; for one,
    the image's manifest digest and config digest. ``platforms`` maps each platform to its manifest digest."""

    manifest_digest: str
    image_id: str
    size: int
    steps: list[StepReport]
    platforms: dict[str, str] = field(default_factory=dict)
