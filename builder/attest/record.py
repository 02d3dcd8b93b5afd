"""What a finished build tells its provenance: a `BuildRecord`, filled by the build from what it resolved
and ran, and read by `builder.attest.provenance`. Values only; nothing here reads a secret.

A secret or an ssh forward appears only by its id: `SecretUse`/`SshUse` have no field for a value, a path or
a variable name, so nothing a provenance is made from can carry one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType


def _check_digest(what: str, value: str) -> None:
    algorithm, colon, hexpart = value.partition(":")
    if not colon or not algorithm or not hexpart:
        raise ValueError(f"{what}: {value!r} is not a digest (ALGORITHM:HEX)")


@dataclass(frozen=True)
class BaseImage:
    """An image the build pulled: ``ref`` as resolved (``debian:bookworm``, ``127.0.0.1:5000/base:1``,
    possibly with ``@sha256:…``), ``digest`` what that reference resolved to (the index's digest when it
    is one, as BuildKit records), ``platform`` the platform used (``linux/arm64/v8``), ``local`` for an
    image that came from a local OCI layout or store rather than a registry (BuildKit: ``pkg:oci/…``)."""

    ref: str
    digest: str
    platform: str | None = None
    local: bool = False

    def __post_init__(self) -> None:
        _check_digest(f"base image {self.ref}", self.digest)


@dataclass(frozen=True)
class RemoteSource:
    """A remote source the build fetched: ``kind`` ``http`` (ADD URL; ``digest`` of the content) or ``git``
    (``digest`` ``sha1:COMMIT`` or ``sha256:COMMIT``)."""

    url: str
    digest: str
    kind: str = "http"

    def __post_init__(self) -> None:
        if self.kind not in ("http", "git"):
            raise ValueError(f"remote source {self.url}: kind must be http or git, not {self.kind!r}")
        _check_digest(f"remote source {self.url}", self.digest)


@dataclass(frozen=True)
class SecretUse:
    """A secret a step mounted: its id, and ``optional`` when the mount did not say ``required=true``."""

    id: str
    optional: bool = True


@dataclass(frozen=True)
class SshUse:
    """An ssh forward a step mounted: its id, and ``optional`` when the mount did not require it."""

    id: str
    optional: bool = True


@dataclass(frozen=True)
class LayerDescriptor:
    """A layer blob as pushed or exported: media type, digest of the (compressed) blob, size."""

    media_type: str
    digest: str
    size: int


@dataclass(frozen=True)
class LayerStep:
    """One layer of the final image and the Buildfile step that made it. Base-image layers name the
    ``FROM`` line that pulled them. ``line``/``end_line`` are 1-based lines of the Buildfile; ``descriptor``
    is the blob when one was made (push, OCI export), else None (a local build has only the diff_id)."""

    diff_id: str
    stage: str
    line: int
    instruction: str
    end_line: int | None = None
    descriptor: LayerDescriptor | None = None


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class BuildRecord:
    """Everything the provenance of one platform's image is made from.

    ``build_args``/``labels``: the values given on the command line (``--build-arg``, ``--label``), as BuildKit
    records its request; ``target``: ``--target`` or None; ``network_mode``: ``host`` when the build ran
    steps on the host's network as BuildKit's ``--network host`` does (recorded as ``force-network-mode``),
    None otherwise; ``network_access``: whether any step could reach the network (a build is hermetic only
    without it). ``started``/``finished`` are aware datetimes; ``epoch`` is SOURCE_DATE_EPOCH or None.
    ``builder_platform``: the platform of the machine that built. ``invocation_id``: one id per build
    invocation, shared by all platforms of it. ``remote_context``: the build context when it was a Git or
    HTTP URL (then it is the configuration's source; list it in ``remote_sources`` too, as BuildKit lists
    it among the materials), None for a local directory. ``build_args`` includes ``SOURCE_DATE_EPOCH`` when it
    came from the environment, as buildx passes it on as a build argument. ``layers``: the final
    image's layers in order.
    """

    buildfile_name: str
    buildfile_digest: str
    buildfile_text: bytes
    started: datetime
    finished: datetime
    builder_platform: str
    invocation_id: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[SecretUse, ...] = ()
    ssh: tuple[SshUse, ...] = ()
    base_images: tuple[BaseImage, ...] = ()
    remote_sources: tuple[RemoteSource, ...] = ()
    layers: tuple[LayerStep, ...] = ()
    epoch: int | None = None
    target: str | None = None
    network_mode: str | None = None
    network_access: bool = True
    remote_context: RemoteSource | None = None

    def __post_init__(self) -> None:
        _check_digest("buildfile", self.buildfile_digest)
        for moment in (self.started, self.finished):
            if moment.tzinfo is None:
                raise ValueError("build times must be timezone-aware")
        object.__setattr__(self, "build_args", _frozen(self.build_args))
        object.__setattr__(self, "labels", _frozen(self.labels))
        for name in ("secrets", "ssh", "base_images", "remote_sources", "layers"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
