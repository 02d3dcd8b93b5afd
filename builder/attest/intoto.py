"""in-toto statements as BuildKit v0.13 writes them, byte for byte in layout.

BuildKit writes ``_type: https://in-toto.io/Statement/v0.1`` (for SLSA v0.2 and v1 provenance and for SBOMs
alike), then ``predicateType``, ``subject`` and ``predicate``, with Go's ``encoding/json``: compact in an
attestation manifest's layer, two-space indented in a local export (``provenance.json``,
``sbom.spdx.json``). Go's encoder escapes ``<``, ``>``, ``&``, U+2028 and U+2029 and writes other
non-ASCII text as UTF-8; `go_json` reproduces that, so a document's bytes (and digest) do not depend on
which writer made them. The key order of a predicate is the order of its dicts: the predicate builders
insert keys in the order of BuildKit's Go structs and sort the keys of Go maps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

STATEMENT_TYPE = "https://in-toto.io/Statement/v0.1"
MEDIA_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE_ANNOTATION = "in-toto.io/predicate-type"

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json(value: Any, *, indent: bool = False) -> bytes:
    """``value`` encoded as Go's ``json.Marshal`` (or ``json.MarshalIndent(v, "", "  ")`` with ``indent``)
    encodes the same data: dict keys in the order given, no trailing newline. The characters Go escapes
    can only occur inside strings, so replacing them in the encoded text changes nothing else."""
    if indent:
        text = json.dumps(value, ensure_ascii=False, indent=2, separators=(",", ": "))
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _GO_ESCAPES.items():
        if char in text:  # a scan is cheaper than a copy: an SBOM's text can be tens of megabytes
            text = text.replace(char, escaped)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # as Go, text that is not valid Unicode (lone surrogates) is written as U+FFFD rather than refused
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode()


@dataclass(frozen=True)
class Subject:
    """What a statement is about: a name (BuildKit: the image's purl, or a file's path in a local export)
    and its sha256 digest as hex (no ``sha256:`` prefix)."""

    name: str
    sha256: str

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"subject {self.name!r}: sha256 must be 64 lower-case hex digits")


@dataclass(frozen=True)
class Statement:
    """One in-toto statement: ``predicate`` is a JSON-ready dict (its key order is kept)."""

    predicate_type: str
    predicate: dict[str, Any]
    subjects: tuple[Subject, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "_type": STATEMENT_TYPE,
            "predicateType": self.predicate_type,
            "subject": [{"name": s.name, "digest": {"sha256": s.sha256}} for s in self.subjects],
            "predicate": self.predicate,
        }

    def to_bytes(self) -> bytes:
        """The compact form BuildKit stores as an attestation layer (``application/vnd.in-toto+json``)."""
        return go_json(self.to_dict())

    def to_indented_bytes(self) -> bytes:
        """The indented form BuildKit writes to a local export's ``provenance.json`` / ``sbom.spdx.json``."""
        return go_json(self.to_dict(), indent=True)

    def with_subjects(self, subjects: tuple[Subject, ...] | list[Subject]) -> Statement:
        """The same statement about other subjects (the image's digest is known only once it is written)."""
        return Statement(self.predicate_type, self.predicate, tuple(subjects))
