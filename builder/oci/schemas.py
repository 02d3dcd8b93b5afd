"""JSON schemas of the image documents pybuild reads from elsewhere, and the one parser that applies them.

Every document that comes from an archive, a layout or a registry — an image manifest, an index, an image
config, a docker-archive's ``manifest.json`` — is parsed by `parse_document` before anything is stored from
it: the JSON must decode, nest no deeper than `MAX_DEPTH`, and match its schema (validated by the
``jsonschema`` library). The schemas follow the OCI image spec (and Docker's image spec for the fields Docker
adds); they constrain the fields pybuild reads and leave every other field free, so an image keeps what it
had. A document that breaks them raises `DocumentError` naming the document, the field and the rule:
``config sha256:…: config.Env: 5 is not of type 'array'``.
"""

from __future__ import annotations

import json
from functools import cache

from builder.errors import BuildError

#: Nesting deeper than this is refused before validation: no image document needs more than a handful of
#: levels, and a hostile one of 100,000 ``[`` would otherwise exhaust the interpreter's recursion limit.
MAX_DEPTH = 64

#: The largest document read whole from an archive or a registry (a manifest, an index, a config).
MAX_DOCUMENT = 4 << 20

_DIGEST = {"type": "string", "pattern": "^sha256:[a-f0-9]{64}$"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_TIME = {
    "type": "string",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$",
}
_SIZE = {"type": "integer", "minimum": 0}

_PLATFORM = {
    "type": "object",
    "properties": {
        "architecture": {"type": "string"},
        "os": {"type": "string"},
        "os.version": {"type": "string"},
        "os.features": _STRINGS,
        "variant": {"type": "string"},
    },
}

DESCRIPTOR = {
    "type": "object",
    "required": ["digest", "size"],
    "properties": {
        "mediaType": {"type": "string"},
        "digest": _DIGEST,
        "size": _SIZE,
        "urls": _STRINGS,
        "annotations": _STRING_MAP,
        "platform": _PLATFORM,
        "artifactType": {"type": "string"},
        "data": {"type": "string"},
    },
}

MANIFEST = {
    "type": "object",
    "required": ["schemaVersion", "config", "layers"],
    "properties": {
        "schemaVersion": {"const": 2},
        "mediaType": {"type": "string"},
        "artifactType": {"type": "string"},
        "config": DESCRIPTOR,
        "layers": {"type": "array", "items": DESCRIPTOR},
        "subject": DESCRIPTOR,
        "annotations": _STRING_MAP,
    },
}

INDEX = {
    "type": "object",
    "required": ["schemaVersion", "manifests"],
    "properties": {
        "schemaVersion": {"const": 2},
        "mediaType": {"type": "string"},
        "artifactType": {"type": "string"},
        "manifests": {"type": "array", "items": DESCRIPTOR},
        "subject": DESCRIPTOR,
        "annotations": _STRING_MAP,
    },
}

_ARGV = {"type": ["array", "null"], "items": {"type": "string"}}
_SET = {"type": ["object", "null"], "additionalProperties": {"type": "object"}}

#: The container config: Docker writes ``null`` for unset lists and maps in older images.
CONTAINER_CONFIG = {
    "type": ["object", "null"],
    "properties": {
        "User": {"type": "string"},
        "ExposedPorts": _SET,
        "Env": _ARGV,
        "Entrypoint": _ARGV,
        "Cmd": _ARGV,
        "Volumes": _SET,
        "WorkingDir": {"type": "string"},
        "Labels": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
        "StopSignal": {"type": "string"},
        "ArgsEscaped": {"type": "boolean"},
        "OnBuild": _ARGV,
        "Shell": _ARGV,
        "Healthcheck": {
            "type": ["object", "null"],
            "properties": {
                "Test": _ARGV,
                "Interval": {"type": "integer"},
                "Timeout": {"type": "integer"},
                "StartPeriod": {"type": "integer"},
                "StartInterval": {"type": "integer"},
                "Retries": {"type": "integer"},
            },
        },
    },
}

CONFIG = {
    "type": "object",
    "required": ["rootfs"],
    "properties": {
        "created": _TIME,
        "author": {"type": "string"},
        "architecture": {"type": "string"},
        "os": {"type": "string"},
        "os.version": {"type": "string"},
        "os.features": _STRINGS,
        "variant": {"type": "string"},
        "config": CONTAINER_CONFIG,
        "rootfs": {
            "type": "object",
            "required": ["type", "diff_ids"],
            "properties": {"type": {"const": "layers"}, "diff_ids": {"type": "array", "items": _DIGEST}},
        },
        "history": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "created": _TIME,
                    "created_by": {"type": "string"},
                    "author": {"type": "string"},
                    "comment": {"type": "string"},
                    "empty_layer": {"type": "boolean"},
                },
            },
        },
    },
}

#: A docker-archive's ``manifest.json``, as ``docker save`` writes it.
DOCKER_ARCHIVE = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["Config", "Layers"],
        "properties": {
            "Config": {"type": "string"},
            "RepoTags": {"type": ["array", "null"], "items": {"type": "string"}},
            "Layers": _STRINGS,
            "Parent": {"type": "string"},
            "LayerSources": {"type": "object", "additionalProperties": DESCRIPTOR},
        },
    },
}


class DocumentError(BuildError):
    """A document that is not JSON, nests too deep, or breaks its schema; the message names it."""


SCHEMAS = {"manifest": MANIFEST, "index": INDEX, "config": CONFIG, "docker-archive": DOCKER_ARCHIVE}


def parse_document(data: bytes, kind: str, what: str, error: type[BuildError] = DocumentError) -> object:
    """Decode ``data`` and validate it against the schema ``kind`` (a key of `SCHEMAS`); returns the
    document. Raises ``error`` (``what`` names the document: ``config sha256:…``, ``manifest.json``) and
    nothing else."""
    doc = load_json(data, what, error)
    problem = _first_error(kind, doc)
    if problem is not None:
        raise error(f"{what}: {problem}")
    return doc


def load_json(data: bytes, what: str, error: type[BuildError] = DocumentError) -> object:
    """Decode JSON that nests no deeper than `MAX_DEPTH`; raises ``error`` naming ``what`` otherwise."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(f"{what} is not valid JSON: {str(exc)[:200]}") from None
    except RecursionError:
        raise error(f"{what} nests deeper than {MAX_DEPTH} levels") from None
    if _depth(doc) > MAX_DEPTH:
        raise error(f"{what} nests deeper than {MAX_DEPTH} levels")
    return doc


def _depth(doc: object) -> int:
    """How deep lists and objects nest in ``doc`` (iteratively: the depth may be anything)."""
    deepest = 0
    pending = [(doc, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            pending.extend((item, level + 1) for item in value)
    return deepest


def _first_error(kind: str, doc: object) -> str | None:
    """The most relevant violation of schema ``kind`` in ``doc`` as ``path: message`` (shortened), or None."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(kind).iter_errors(doc))
    if error is None:
        return None
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    path = path.lstrip(".") or "the document"
    message = error.message
    if error.validator == "pattern":
        shown = repr(error.instance)[:100]
        message = f"{shown} is not {'an RFC 3339 time' if error.schema is _TIME else 'a sha256 digest'}"
    message = message if len(message) <= 200 else message[:200] + "…"
    return f"{path}: {message}"


@cache
def _validator(kind: str):
    """The compiled validator of schema ``kind``, built once per process (jsonschema is imported only then:
    a build from the store reads no foreign document)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(SCHEMAS[kind])
