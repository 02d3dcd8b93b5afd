"""The statements a build attaches, for now: a minimal SLSA provenance made here, in one place.

`provisional_source` is what `builder.executor.build` calls to get the `StatementSource` for a build's
`AttestationRequest`; it is to be replaced by the full generators (provenance with every material and
mode=max details, the SPDX SBOM). Until then: provenance v0.2 (or v1) with the builder, the build type, the
Buildfile's name and digest, the base images by digest as materials, the platform, build args in mode=max
(never secrets), and start/finish times clamped to SOURCE_DATE_EPOCH; an SBOM is refused before the build
runs.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Sequence

from builder.attest.manifests import AttestationStatement, AttestedImage, StatementSource, image_purl
from builder.attest.request import AttestationRequest
from builder.errors import UsageError
from builder.platforms import Platform

STATEMENT_TYPE = "https://in-toto.io/Statement/v0.1"
STATEMENT_TYPE_V1 = "https://in-toto.io/Statement/v1"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://mobyproject.org/buildkit@v1"


def _rfc3339(seconds: float) -> str:
    whole = int(seconds)
    fraction = f"{seconds - whole:.9f}"[1:].rstrip("0").rstrip(".")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + fraction + "Z"


def _materials(store, plans, platform) -> list[dict]:
    """Each base image of the plan built for ``platform``, by the digest its name resolved to."""
    from builder.plan import SourceKind
    from builder.refs import parse_ref

    materials, seen = [], set()
    for the_plan in plans:
        if str(the_plan.platform) != str(platform):
            continue
        for stage in the_plan.build_order():
            if stage.base.kind is not SourceKind.IMAGE:
                continue
            try:
                ref = parse_ref(stage.base.ref)
            except UsageError:
                continue  # a named context, not an image
            digest = ref.digest or store.get_tag(ref.tag_key)
            if digest is None:
                continue
            uri = image_purl(ref, stage.platform)
            if (uri, digest) not in seen:
                seen.add((uri, digest))
                materials.append({"uri": uri, "digest": {"sha256": digest.partition(":")[2]}})
    return materials


def provisional_source(
    store,
    request: AttestationRequest,
    plans: Sequence,
    *,
    buildfile_name: str,
    buildfile_text: str,
    build_args: dict[str, str],
    started: float,
    epoch: int | None,
) -> StatementSource | None:
    """The statement source for ``request`` (None when it asks for nothing). Raises `UsageError` for an
    SBOM, which this build does not make yet: before any step runs."""
    if not request:
        return None
    if request.sbom is not None:
        raise UsageError("--sbom is not supported yet: pybuild makes provenance only", hint="use --sbom=false")
    provenance = request.provenance
    assert provenance is not None
    text_digest = hashlib.sha256(buildfile_text.encode()).hexdigest()
    invocation_id = secrets.token_hex(12)
    entry = buildfile_name.rsplit("/", 1)[-1]

    def clamp(moment: float) -> float:
        return min(moment, epoch) if epoch is not None else moment

    def source(image: AttestedImage) -> list[AttestationStatement]:
        finished = time.time()
        materials = _materials(store, plans, image.platform)
        args = {f"build-arg:{k}": v for k, v in sorted(build_args.items())} if provenance.mode == "max" else {}
        if provenance.version == "v1":
            predicate = {
                "buildDefinition": {
                    "buildType": BUILD_TYPE,
                    "externalParameters": {
                        "configSource": {"path": entry, "digest": {"sha256": text_digest}},
                        "frontend": "dockerfile.v0",
                        "args": args,
                        "request": {},
                    },
                    "internalParameters": {"platform": str(image.platform)},
                    "resolvedDependencies": materials,
                },
                "runDetails": {
                    "builder": {"id": ""},
                    "metadata": {
                        "invocationID": invocation_id,
                        "startedOn": _rfc3339(clamp(started)),
                        "finishedOn": _rfc3339(clamp(finished)),
                    },
                },
            }
            kind, predicate_type = STATEMENT_TYPE_V1, SLSA_V1
        else:
            predicate = {
                "builder": {"id": ""},
                "buildType": BUILD_TYPE,
                "materials": materials,
                "invocation": {
                    "configSource": {"digest": {"sha256": text_digest}, "entryPoint": entry},
                    "parameters": {
                        "frontend": "dockerfile.v0",
                        "args": args,
                        "locals": [{"name": "context"}, {"name": "dockerfile"}],
                    },
                    # the platform the build ran on, as BuildKit states it (arm64 built on amd64: amd64)
                    "environment": {"platform": str(Platform.host())},
                },
                "metadata": {
                    "buildInvocationID": invocation_id,
                    "buildStartedOn": _rfc3339(clamp(started)),
                    "buildFinishedOn": _rfc3339(clamp(finished)),
                    "completeness": {
                        "parameters": provenance.mode == "max",
                        "environment": True,
                        "materials": False,
                    },
                    "reproducible": False,
                    "https://mobyproject.org/buildkit@v1#metadata": {},
                },
            }
            kind, predicate_type = STATEMENT_TYPE, SLSA_V02
        statement = {
            "_type": kind,
            "predicateType": predicate_type,
            "subject": image.subjects(),
            "predicate": predicate,
        }
        body = json.dumps(statement, separators=(",", ":"), ensure_ascii=False).encode()
        return [AttestationStatement(predicate_type, body, "provenance.json")]

    return source
