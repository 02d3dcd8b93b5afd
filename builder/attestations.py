"""``--provenance``, ``--sbom`` and ``--attest``: pybuild makes no attestations, so only the values that ask
for none are accepted (CI scripts often pass ``--provenance=false``); any other value is refused by name.
"""

from __future__ import annotations

from builder.errors import UsageError

_OFF = ("false", "0", "no", "off")


def check_attestations(provenance: str | None, sbom: str | None, attest: list[str]) -> None:
    """Raise `UsageError` for a request for an attestation; return quietly when none is asked for."""
    for option, value in (("--provenance", provenance), ("--sbom", sbom)):
        if value is not None and value.strip().lower() not in _OFF:
            raise UsageError(
                f"{option}={value} is not supported: pybuild makes no attestations", hint=f"use {option}=false"
            )
    for value in attest:
        fields = dict(part.partition("=")[::2] for part in value.split(","))
        if fields.get("disabled", "").lower() != "true":
            raise UsageError(
                f"--attest {value} is not supported: pybuild makes no attestations",
                hint="only type=…,disabled=true is accepted",
            )
