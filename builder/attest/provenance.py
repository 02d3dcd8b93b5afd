"""SLSA provenance of a build, in the shape buildx and BuildKit write it.

``version="v0.2"`` (the default, as buildx 0.13) gives ``https://slsa.dev/provenance/v0.2`` with build type
``https://mobyproject.org/buildkit@v1``; ``version="v1"`` gives ``https://slsa.dev/provenance/v1`` with the
build type and field names of BuildKit's SLSA v1 writer (BuildKit v0.13 itself accepts ``version=v1`` but
still writes v0.2; `tests/attest/recorded/` keeps what it wrote). The predicate is made in the v1 form and
converted, as BuildKit does, so both versions carry the same facts.

``mode=min`` keeps the request without build arguments and labels (then ``completeness.parameters`` is
false), secrets and ssh ids; ``mode=max`` keeps them all and adds the Buildfile's source and the build steps:

- ``buildConfig.llbDefinition``: one entry per step of the final image (``stepN``), oldest first, each
  with its inputs (``stepN-1:0``) as BuildKit chains its steps. pybuild has no LLB, so ``op`` holds
  pybuild's own description of the step (stage, instruction text, the diff_ids of its layers) instead of an
  LLB op; decoders of BuildKit's type ignore those keys.
- the BuildKit metadata's ``source``: each step's Buildfile line range and the Buildfile's text, and its
  ``layers``: each step's layer chain as blob descriptors (a step whose chain has a layer without a blob,
  as in a local export, is left out, as BuildKit leaves it out).

Secrets and ssh forwards appear by id only (`builder.attest.record` carries nothing else). Materials list
every base image by the digest its reference resolved to and every remote source by content digest.

Deliberate differences from BuildKit: under SOURCE_DATE_EPOCH the start and finish times are clamped to the
epoch (BuildKit v0.13 records the wall clock even then), so an attestation is as reproducible as the image;
and for a build from a local directory the configuration source also carries the Buildfile's digest
(BuildKit gives only its name).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from builder.attest.imagepurl import image_purl
from builder.attest.intoto import Statement, Subject
from builder.attest.record import BuildRecord, LayerStep

PREDICATE_V02 = "https://slsa.dev/provenance/v0.2"
PREDICATE_V1 = "https://slsa.dev/provenance/v1"
BUILD_TYPE_V02 = "https://mobyproject.org/buildkit@v1"
BUILD_TYPE_V1 = "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md"
FRONTEND = "dockerfile.v0"
_METADATA_KEY_V02 = "https://mobyproject.org/buildkit@v1#metadata"
_HERMETIC_KEY_V02 = "https://mobyproject.org/buildkit@v1#hermetic"


@dataclass(frozen=True)
class ProvenanceOptions:
    """``--provenance``/``--attest type=provenance`` settings: ``mode`` min|max, ``version`` v0.2|v1,
    ``builder_id`` (``builder-id=``), ``reproducible`` (``reproducible=true``)."""

    mode: str = "min"
    version: str = "v0.2"
    builder_id: str = ""
    reproducible: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"provenance mode must be min or max, not {self.mode!r}")
        if self.version not in ("v0.2", "v1"):
            raise ValueError(f"provenance version must be v0.2 or v1, not {self.version!r}")

    @property
    def predicate_type(self) -> str:
        return PREDICATE_V1 if self.version == "v1" else PREDICATE_V02


def go_time(moment: datetime) -> str:
    """``moment`` as Go marshals a UTC ``time.Time``: RFC 3339, fraction without trailing zeros."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _clamped(moment: datetime, epoch: int | None) -> datetime:
    if epoch is None:
        return moment
    return min(moment, datetime.fromtimestamp(epoch, UTC))


def _digest_set(digest: str) -> dict[str, str]:
    algorithm, _, hexpart = digest.partition(":")
    return {algorithm: hexpart}


def _materials(record: BuildRecord) -> list[dict[str, Any]]:
    out = [
        {"uri": image_purl(b.ref, b.platform, local=b.local), "digest": _digest_set(b.digest)}
        for b in record.base_images
    ]
    # BuildKit lists git sources before http ones, each in the order the build resolved them
    for kind in ("git", "http"):
        out += [
            {"uri": s.url, "digest": _digest_set(s.digest)} for s in record.remote_sources if s.kind == kind
        ]
    return out


def _request(record: BuildRecord, mode: str) -> tuple[dict[str, Any], bool]:
    """The build request (BuildKit's ``Parameters``) and whether it is complete."""
    args = {f"build-arg:{k}": v for k, v in record.build_args.items()}
    args.update({f"label:{k}": v for k, v in record.labels.items()})
    if record.network_mode:
        args["force-network-mode"] = record.network_mode
    if record.target:
        args["target"] = record.target
    complete = True
    if mode == "min":
        kept = {k: v for k, v in args.items() if not k.startswith(("build-arg:", "label:"))}
        complete = len(kept) == len(args)
        args = kept
    request: dict[str, Any] = {"frontend": FRONTEND}
    if args:
        request["args"] = dict(sorted(args.items()))
    if mode == "max":
        secrets = _uses(record.secrets)
        ssh = _uses(record.ssh)
        if secrets:
            request["secrets"] = secrets
        if ssh:
            request["ssh"] = ssh
    if record.remote_context is None:
        request["locals"] = [{"name": "context"}, {"name": "dockerfile"}]
    return request, complete


def _uses(uses: tuple[Any, ...]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for use in uses:
        entry = seen.setdefault(use.id, {"id": use.id, "optional": use.optional})
        entry["optional"] = entry["optional"] and use.optional  # required once means required
    return [{"id": e["id"], "optional": True} if e["optional"] else {"id": e["id"]} for e in seen.values()]


def _config_source(record: BuildRecord) -> dict[str, Any]:
    if record.remote_context is not None:
        return {"uri": record.remote_context.url, "digest": _digest_set(record.remote_context.digest)}
    return {"digest": _digest_set(record.buildfile_digest)}


def _steps(layers: tuple[LayerStep, ...]) -> list[list[LayerStep]]:
    """The final image's layers grouped by the step that made them, oldest first."""
    steps: list[list[LayerStep]] = []
    for layer in layers:
        if steps and (steps[-1][0].stage, steps[-1][0].line, steps[-1][0].instruction) == (
            layer.stage,
            layer.line,
            layer.instruction,
        ):
            steps[-1].append(layer)
        else:
            steps.append([layer])
    return steps


def _build_config(steps: list[list[LayerStep]]) -> dict[str, Any]:
    definition = []
    for index, group in enumerate(steps):
        entry: dict[str, Any] = {
            "id": f"step{index}",
            "op": {
                "stage": group[0].stage,
                "instruction": group[0].instruction,
                "layers": [layer.diff_id for layer in group],
            },
        }
        if index:
            entry["inputs"] = [f"step{index - 1}:0"]
        definition.append(entry)
    return {"llbDefinition": definition}


def _buildkit_metadata(record: BuildRecord, steps: list[list[LayerStep]]) -> dict[str, Any]:
    locations = {}
    for index, group in enumerate(steps):
        start = group[0].line
        end = group[0].end_line or start
        ranges = [{"start": {"line": start}, "end": {"line": end}}]
        locations[f"step{index}"] = {"locations": [{"ranges": ranges}]}
    source = {
        "locations": dict(sorted(locations.items())),
        "infos": [
            {
                "filename": record.buildfile_name,
                "language": "Dockerfile",
                "data": base64.b64encode(record.buildfile_text).decode(),
            }
        ],
    }
    chains: dict[str, list[list[dict[str, Any]]]] = {}
    chain: list[dict[str, Any]] | None = []
    for index, group in enumerate(steps):
        for layer in group:
            if chain is None or layer.descriptor is None:
                chain = None  # every later step's chain has this layer too
                break
            d = layer.descriptor
            chain.append({"mediaType": d.media_type, "digest": d.digest, "size": d.size})
        if chain is not None:
            chains[f"step{index}:0"] = [list(chain)]
    metadata: dict[str, Any] = {"source": source}
    if chains:
        metadata["layers"] = dict(sorted(chains.items()))
    return metadata


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def provenance_predicate(record: BuildRecord, options: ProvenanceOptions) -> dict[str, Any]:
    """The provenance predicate of ``record`` (a JSON-ready dict, keys in BuildKit's order)."""
    request, request_complete = _request(record, options.mode)
    materials = _materials(record)
    materials_complete = record.remote_context is not None
    hermetic = materials_complete and not record.network_access
    started = go_time(_clamped(record.started, record.epoch))
    finished = go_time(_clamped(record.finished, record.epoch))
    steps = _steps(record.layers) if options.mode == "max" else []
    build_config = _build_config(steps) if steps else None
    buildkit_metadata = _buildkit_metadata(record, steps) if options.mode == "max" else {}
    config_source = _config_source(record)

    if options.version == "v1":
        config_source_v1 = {**config_source, "path": record.buildfile_name}
        internal: dict[str, Any] = {}
        if build_config is not None:
            internal["buildConfig"] = build_config
        internal["builderPlatform"] = record.builder_platform
        definition: dict[str, Any] = {"buildType": BUILD_TYPE_V1}
        if materials:
            definition["resolvedDependencies"] = materials
        definition["externalParameters"] = {"configSource": config_source_v1, "request": request}
        # BuildKit marshals internalParameters through a map (to inline custom environment keys), so every
        # key below it comes out sorted
        definition["internalParameters"] = _sorted_keys(internal)
        metadata: dict[str, Any] = {
            "invocationId": record.invocation_id,
            "startedOn": started,
            "finishedOn": finished,
            "buildkit_metadata": buildkit_metadata,
        }
        if hermetic:
            metadata["buildkit_hermetic"] = True
        metadata["buildkit_completeness"] = {
            "request": request_complete,
            "resolvedDependencies": materials_complete,
        }
        if options.reproducible:
            metadata["buildkit_reproducible"] = True
        return {
            "buildDefinition": definition,
            "runDetails": {"builder": {"id": options.builder_id}, "metadata": metadata},
        }

    predicate: dict[str, Any] = {"builder": {"id": options.builder_id}, "buildType": BUILD_TYPE_V02}
    if materials:
        predicate["materials"] = materials
    predicate["invocation"] = {
        "configSource": {**config_source, "entryPoint": record.buildfile_name},
        "parameters": request,
        "environment": {"platform": record.builder_platform},
    }
    if build_config is not None:
        predicate["buildConfig"] = build_config
    metadata_v02: dict[str, Any] = {
        "buildInvocationID": record.invocation_id,
        "buildStartedOn": started,
        "buildFinishedOn": finished,
        "completeness": {"parameters": request_complete, "environment": True, "materials": materials_complete},
        "reproducible": options.reproducible,
        _METADATA_KEY_V02: buildkit_metadata,
    }
    if hermetic:
        metadata_v02[_HERMETIC_KEY_V02] = True
    predicate["metadata"] = metadata_v02
    return predicate


def provenance_statement(
    record: BuildRecord, options: ProvenanceOptions, subjects: tuple[Subject, ...] = ()
) -> Statement:
    """The in-toto statement of ``record``'s provenance about ``subjects`` (the image, by its manifest digest;
    `Statement.with_subjects` sets them later when the digest is known only then)."""
    return Statement(options.predicate_type, provenance_predicate(record, options), tuple(subjects))
