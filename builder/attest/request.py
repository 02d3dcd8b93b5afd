"""``--provenance``, ``--sbom`` and ``--attest``: what attestations a build is asked for, as buildx reads them.

buildx turns ``--provenance=V`` into ``--attest type=provenance,V`` (a boolean V into ``disabled=…``) and
``--sbom=V`` likewise; an attestation type may be given once. When no provenance is asked for or refused,
buildx adds ``mode=min`` provenance by default wherever its driver stores attestations (not with the docker
driver, whose image store is pybuild's local store here) unless ``BUILDX_NO_DEFAULT_ATTESTATIONS`` is set:
pybuild adds it to builds that push, and, being inline-only, it goes with images (pushed, stored, OCI
layouts), never into ``-o type=local|tar`` files.

Fields pybuild does not implement are refused by name: an SBOM ``generator=`` image (pybuild makes the SBOM
itself), provenance ``builder-id``/``filename``/``reproducible``.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.errors import UsageError

_TRUE = ("1", "t", "true")  # Go's strconv.ParseBool, as buildx reads them
_FALSE = ("0", "f", "false")
PROVENANCE_MODES = ("min", "max")
PROVENANCE_VERSIONS = ("v0.2", "v1")


@dataclass(frozen=True)
class ProvenanceRequest:
    """SLSA provenance: ``mode`` ``min`` or ``max``; ``version`` ``v0.2`` (the default) or ``v1``;
    ``inline_only``: only for outputs that carry an image (buildx's default provenance)."""

    mode: str = "min"
    version: str = "v0.2"
    inline_only: bool = False


@dataclass(frozen=True)
class SbomRequest:
    """An SPDX SBOM of the final image; ``scan_context`` and ``scan_stage`` are the build args
    ``BUILDKIT_SBOM_SCAN_CONTEXT`` / ``BUILDKIT_SBOM_SCAN_STAGE`` as given (None when not given): whether
    the context, and which intermediate stages (``true`` or stage names), are scanned too."""

    scan_context: bool = False
    scan_stage: str | None = None


@dataclass(frozen=True)
class AttestationRequest:
    """What attestations a build makes. Explicit requests go to every output that can hold them; the
    default provenance (``inline_only``) only to outputs that carry an image."""

    provenance: ProvenanceRequest | None = None
    sbom: SbomRequest | None = None

    def __bool__(self) -> bool:
        return self.provenance is not None or self.sbom is not None

    @property
    def inline_only(self) -> bool:
        """True when every attestation asked for is inline-only (only buildx's default provenance)."""
        return self.sbom is None and self.provenance is not None and self.provenance.inline_only

    def applies_to(self, output_type: str) -> bool:
        """Whether an output of ``output_type`` carries any of the attestations (``docker`` archives never
        do: buildx's docker driver makes none)."""
        if not self:
            return False
        if output_type in ("local", "tar"):
            return not self.inline_only
        return output_type in ("image", "registry", "oci")

    def in_files(self, predicate_type: str) -> bool:
        """Whether a statement of ``predicate_type`` goes into ``-o type=local|tar`` files (not the default,
        inline-only provenance)."""
        provenance = predicate_type.startswith("https://slsa.dev/provenance/")
        return not (provenance and self.provenance is not None and self.provenance.inline_only)


def _fields(text: str, option: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise UsageError(f"invalid {option} value {text!r}: {part!r} is not KEY=VALUE")
        fields[key.strip().lower()] = value.strip()
    return fields


def _boolean_form(kind: str, value: str) -> str:
    """buildx's reading of ``--provenance=V``/``--sbom=V``: a boolean is ``disabled=not V``."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return f"type={kind}"
    if lowered in _FALSE:
        return f"type={kind},disabled=true"
    return f"type={kind},{value}"


def _disabled(fields: dict[str, str], option: str) -> bool:
    value = fields.pop("disabled", "false").lower()
    if value not in _TRUE + _FALSE:
        raise UsageError(f"invalid {option}: disabled={value} is not a boolean")
    return value in _TRUE


def _provenance(fields: dict[str, str], option: str) -> ProvenanceRequest:
    mode = fields.pop("mode", "min").lower()
    if mode not in PROVENANCE_MODES:
        raise UsageError(f"invalid {option}: mode={mode} (expected min or max)")
    version = fields.pop("version", "v0.2").lower()
    if version not in PROVENANCE_VERSIONS:
        raise UsageError(f"invalid {option}: version={version} (expected v0.2 or v1)")
    inline = fields.pop("inline-only", "false").lower()
    if inline not in _FALSE:
        raise UsageError(f"{option}: inline-only={inline} is not supported")
    if fields:
        raise UsageError(
            f"{option}: {', '.join(sorted(fields))} is not supported", hint="use mode= and version="
        )
    return ProvenanceRequest(mode, version)


def _sbom(fields: dict[str, str], option: str, build_args: dict[str, str]) -> SbomRequest:
    if "generator" in fields:
        raise UsageError(
            f"{option}: generator={fields['generator']} is not supported: pybuild makes the SBOM itself",
            hint="leave out generator=",
        )
    if fields:
        raise UsageError(f"{option}: {', '.join(sorted(fields))} is not supported")
    context = build_args.get("BUILDKIT_SBOM_SCAN_CONTEXT", "").strip().lower()
    return SbomRequest(scan_context=context in _TRUE, scan_stage=build_args.get("BUILDKIT_SBOM_SCAN_STAGE"))


def parse_attestations(
    provenance: str | None,
    sbom: str | None,
    attest: list[str],
    *,
    pushing: bool,
    build_args: dict[str, str] | None = None,
    no_default: str | None = None,
) -> AttestationRequest:
    """The `AttestationRequest` of the build flags. ``pushing``: the build pushes its result (default
    provenance applies); ``no_default``: the value of ``BUILDX_NO_DEFAULT_ATTESTATIONS`` (None when unset; the
    caller reads the environment), read as buildx reads it when the default would apply. Raises `UsageError`
    for a malformed value, a type given twice, an unknown type or field."""
    specs: list[tuple[str, str]] = [(f"--attest {value}", value) for value in attest]
    if provenance is not None:
        specs.append((f"--provenance={provenance}", _boolean_form("provenance", provenance)))
    if sbom is not None:
        specs.append((f"--sbom={sbom}", _boolean_form("sbom", sbom)))
    chosen: dict[str, object] = {}
    for option, text in specs:
        fields = _fields(text, option)
        kind = fields.pop("type", "").lower()
        if not kind:
            raise UsageError(f"invalid {option}: type= is required (provenance or sbom)")
        if kind not in ("provenance", "sbom"):
            raise UsageError(
                f"invalid {option}: unknown attestation type {kind!r} (expected provenance or sbom)"
            )
        if kind in chosen:
            raise UsageError(f"duplicate attestation field {kind}")
        if _disabled(fields, option):
            chosen[kind] = None
        elif kind == "provenance":
            chosen[kind] = _provenance(fields, option)
        else:
            chosen[kind] = _sbom(fields, option, build_args or {})
    default = "provenance" not in chosen and pushing and not no_default_attestations(no_default)
    provenance_request = ProvenanceRequest(inline_only=True) if default else chosen.get("provenance")
    return AttestationRequest(provenance_request, chosen.get("sbom"))  # type: ignore[arg-type]


def no_default_attestations(value: str | None) -> bool:
    """``BUILDX_NO_DEFAULT_ATTESTATIONS``'s value as buildx reads it: unset is False, else Go's
    strconv.ParseBool, an unparsable value (empty too) an error."""
    if value is None:
        return False
    if value.strip().lower() not in _TRUE + _FALSE:
        raise UsageError(
            f'invalid BUILDX_NO_DEFAULT_ATTESTATIONS: strconv.ParseBool: parsing "{value}": invalid syntax'
        )
    return value.strip().lower() in _TRUE


def check_outputs(request: AttestationRequest, output_types: list[str]) -> None:
    """Refuse, before the build, an output that cannot carry the attestations asked for: a docker-archive
    (BuildKit: the attestations make the result an index, which its docker exporter refuses)."""
    if request and not request.inline_only and "docker" in output_types:
        raise UsageError(
            "docker exporter does not support exporting manifest lists, use the oci exporter instead",
            hint="or --provenance=false",
        )
