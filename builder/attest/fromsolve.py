"""A build's attestations from what its solve did: the `BuildRecord` provenance is made from (the Buildfile,
the build args, the secrets' and agents' ids, every base image and download by digest, each layer's step),
and the SBOMs of the final image (and, when the build args ask, of the context and of earlier stages).

`statement_source` gives the `builder.attest.manifests.StatementSource` the outputs call once per platform
image. Every statement names the image it is attached to as its subject.
"""

from __future__ import annotations

import hashlib
import secrets as tokens
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from builder.attest.manifests import AttestationStatement, AttestedImage
from builder.attest.request import AttestationRequest


@dataclass(frozen=True)
class SolvedPlatform:
    """What one platform's solve made: the final stage's diff_ids, every base image the build read (ref,
    manifest digest, platform), the layer steps that made the image's layers (diff_id → stage, line,
    instruction, descriptor), and each other stage's diff_ids by name (for ``BUILDKIT_SBOM_SCAN_STAGE``)."""

    diff_ids: tuple[str, ...]
    base_images: tuple[tuple[str, str, str], ...]
    steps: tuple[tuple[str, str, int, str, dict], ...]
    stages: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class BuildFacts:
    """What every platform's record shares: the Buildfile, the request's args and ids, the downloads."""

    buildfile_name: str
    buildfile_text: str
    build_args: Mapping[str, str]
    secret_ids: tuple[str, ...]
    ssh_ids: tuple[str, ...]
    remote_sources: tuple[tuple[str, str, str], ...]
    context: Path
    target: str | None
    epoch: int | None
    started: float


def solved_platforms(graph, solved, targets) -> dict[str, SolvedPlatform]:
    """Each target's `SolvedPlatform` (by platform), from the op graph (`builder.frontend.graph.BuildGraph`)
    and the solve's results and step records (`builder.solver.Solved`) of one build request."""
    platforms = {}
    for key in targets:
        final = solved.results[key]
        mine = [k for k in graph.stages if k.scope == key.scope and k.platform == key.platform]
        bases = {
            (stage.base.ref, stage.base.manifest_digest, str(stage.stage.platform))
            for k in mine
            if (stage := graph.stages[k]).base is not None
        }
        kept = set(final.diff_ids)
        steps = {  # by diff_id: a layer two stages share is one step of the image
            r.layer.diff_id: (r.layer.diff_id, r.stage, r.line, r.text, r.layer.descriptor())
            for k in mine
            for r in solved.steps[k]
            if r.layer is not None and r.layer.diff_id in kept
        }
        stages = {
            graph.stages[k].stage.name or str(k.index): tuple(solved.results[k].diff_ids)
            for k in mine
            if k != key
        }
        platforms[key.platform] = SolvedPlatform(
            tuple(final.diff_ids), tuple(sorted(bases)), tuple(steps.values()), stages
        )
    return platforms


def statement_source(
    store, request: AttestationRequest, facts: BuildFacts, platforms: Mapping[str, SolvedPlatform]
):
    """The statements for each platform image of the build (see the module docstring)."""
    invocation = tokens.token_hex(12) if facts.epoch is None else _derived_id(facts)

    def source(image: AttestedImage) -> Sequence[AttestationStatement]:
        from builder.attest.subjects import image_subjects

        solved = platforms[str(image.platform)]
        names = [str(ref) for ref in image.names]
        subjects = image_subjects(names, str(image.platform), image.manifest_digest)
        made: list[AttestationStatement] = []
        if request.provenance is not None:
            made.append(_provenance(request, facts, solved, invocation, subjects))
        if request.sbom is not None:
            made.extend(_sboms(store, request, facts, solved, names, subjects))
        return made

    return source


def _derived_id(facts: BuildFacts) -> str:
    """Under SOURCE_DATE_EPOCH the invocation id is a function of the inputs, so the attestation is too."""
    seed = f"{facts.buildfile_text}\0{sorted(facts.build_args.items())}\0{facts.epoch}"
    return hashlib.sha256(seed.encode()).hexdigest()[:24]


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _provenance(request, facts: BuildFacts, solved: SolvedPlatform, invocation: str, subjects):
    from builder.attest.provenance import ProvenanceOptions, provenance_statement
    from builder.attest.record import (
        BaseImage,
        BuildRecord,
        LayerDescriptor,
        LayerStep,
        RemoteSource,
        SecretUse,
        SshUse,
    )
    from builder.platforms import Platform

    wanted = request.provenance
    record = BuildRecord(
        buildfile_name=facts.buildfile_name.rsplit("/", 1)[-1],
        buildfile_digest="sha256:" + hashlib.sha256(facts.buildfile_text.encode()).hexdigest(),
        buildfile_text=facts.buildfile_text.encode(),
        started=_time(facts.started),
        finished=_time(time.time()),
        builder_platform=str(Platform.host()),
        invocation_id=invocation,
        build_args=dict(facts.build_args),
        secrets=tuple(SecretUse(i) for i in facts.secret_ids),
        ssh=tuple(SshUse(i) for i in facts.ssh_ids),
        base_images=tuple(BaseImage(ref, digest, platform) for ref, digest, platform in solved.base_images),
        remote_sources=tuple(RemoteSource(url, digest, kind) for url, digest, kind in facts.remote_sources),
        layers=tuple(
            LayerStep(
                diff_id,
                stage,
                line,
                text,
                descriptor=LayerDescriptor(desc["mediaType"], desc["digest"], desc["size"]),
            )
            for diff_id, stage, line, text, desc in solved.steps
        ),
        epoch=facts.epoch,
        target=facts.target,
    )
    options = ProvenanceOptions(mode=wanted.mode, version=wanted.version)
    statement = provenance_statement(record, options, subjects)
    return AttestationStatement(statement.predicate_type, statement.to_bytes(), "provenance.json")


def _sboms(store, request, facts: BuildFacts, solved: SolvedPlatform, names, subjects):
    """The final image's SBOM, then (as BuildKit's extra scans, ``sbom-NAME``) the context's and the scanned
    stages'."""
    from builder.attest.files import DirectoryFiles, LayeredFiles
    from builder.attest.sbom import sbom_statement

    created = _time(min(time.time(), facts.epoch) if facts.epoch is not None else time.time())
    name = names[0] if names else "image"
    scans = [("sbom", LayeredFiles.of_image(store, list(solved.diff_ids)), name)]
    wanted = request.sbom
    if wanted.scan_context:
        scans.append(("sbom-context", DirectoryFiles(facts.context), "context"))
    if wanted.scan_stage and wanted.scan_stage.lower() not in ("false", "0"):
        chosen = solved.stages if wanted.scan_stage.lower() in ("true", "1") else None
        for stage in sorted(chosen or [s.strip() for s in wanted.scan_stage.split(",") if s.strip()]):
            if stage in solved.stages:
                scans.append((f"sbom-{stage}", LayeredFiles.of_image(store, list(solved.stages[stage])), stage))
    made = []
    for scan, files, label in scans:
        statement = sbom_statement(files, name=label, created=created, subjects=subjects)
        made.append(AttestationStatement(statement.predicate_type, statement.to_bytes(), f"{scan}.spdx.json"))
    return made
