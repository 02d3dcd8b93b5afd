"""Fuzz targets for the image documents pybuild reads from archives, layouts and registries.

Each case is a valid seed document (an image manifest, an index, an image config, a docker-archive
``manifest.json``) changed a few times: a value at some path replaced by another JSON value (a number, a
string, null, a list, an object, a deeply nested list), a key removed or added, or the encoded bytes cut,
spliced or wrapped in thousands of brackets. A case behaves when the document's parser returns a document
that the code reading it then handles (layers and history paired, platforms named, times shown, tags read)
or refuses it with the user error it promises (`BuildError`, naming the document). Anything else — a
TypeError in a reader, a RecursionError — is a finding.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from hypothesis import strategies as st

_D1 = "sha256:" + "1" * 64
_D2 = "sha256:" + "2" * 64

SEEDS: dict[str, object] = {
    "manifest": {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _D1, "size": 10},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _D2, "size": 20}],
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    },
    "index": {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _D1,
                "size": 30,
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": "docker.io/library/a:1"},
            }
        ],
    },
    "config": {
        "created": "2024-01-01T00:00:00Z",
        "architecture": "arm",
        "variant": "v7",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "Labels": {"a": "b"}, "ExposedPorts": {"80/tcp": {}}},
        "rootfs": {"type": "layers", "diff_ids": [_D1, _D2]},
        "history": [
            {"created": "2024-01-01T00:00:00Z", "created_by": "ADD x /"},
            {"created_by": "ENV a=b", "empty_layer": True},
            {"created": "2024-01-01T00:00:00.5+01:00", "created_by": "RUN y"},
        ],
    },
    "docker-archive": [{"Config": "c.json", "RepoTags": ["a:1", "docker.io/b/c:2"], "Layers": ["l/layer.tar"]}],
}

TARGETS = tuple(f"document-{kind}" for kind in SEEDS)

_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from([_D1, "sha256:", "2024-13-45T99:99:99Z", "0000-00-00T00:00:00Z", "a:1", "", "layers"]),
)
_values = st.recursive(
    _leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
)


@dataclass(frozen=True)
class DocumentCase:
    """``data``: the bytes given to the parser of ``kind`` (a key of `SEEDS`)."""

    kind: str
    data: bytes


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    """Every path into ``doc`` (keys and indexes), the root included."""
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found.extend(_paths(value, (*prefix, index)))
    return found


def _replace(doc: object, path: tuple, value: object) -> object:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _replace(doc[head], rest, value)}
    copy = list(doc)  # a list: the path was taken from the document
    copy[head] = _replace(copy[head], rest, value)
    return copy


def _remove(doc: object, path: tuple) -> object:
    if len(path) == 1:
        if isinstance(doc, dict):
            return {k: v for k, v in doc.items() if k != path[0]}
        return [v for i, v in enumerate(doc) if i != path[0]]
    head = path[0]
    if isinstance(doc, dict):
        return {**doc, head: _remove(doc[head], path[1:])}
    copy = list(doc)
    copy[head] = _remove(copy[head], path[1:])
    return copy


@st.composite
def document_cases(draw, kind: str) -> DocumentCase:
    """A seed document of ``kind`` with one to four changes (see the module docstring)."""
    doc = SEEDS[kind]
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "remove", "add", "nest"]))
        if action == "replace":
            doc = _replace(doc, path, draw(_values))
        elif action == "remove" and path:
            doc = _remove(doc, path)
        elif action == "add":
            target = doc
            for part in path:
                target = target[part]
            if isinstance(target, dict):
                doc = _replace(doc, path, {**target, draw(st.text(max_size=8)): draw(_values)})
            elif isinstance(target, list):
                doc = _replace(doc, path, [*target, draw(_values)])
        elif action == "nest":
            depth = draw(st.sampled_from([2, 70, 1000, 100_000]))
            doc = _replace(doc, path, json.loads("[" * min(depth, 70) + "]" * min(depth, 70)))
            if depth > 70:  # deeper than json.dumps can write: spliced into the bytes below
                data = json.dumps(doc).encode()
                return DocumentCase(kind, data.replace(b"[]", b"[" * depth + b"]" * depth, 1))
    data = json.dumps(doc).encode()
    cut = draw(st.sampled_from(["none", "none", "none", "truncate", "splice"]))
    if cut == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif cut == "splice":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    return DocumentCase(kind, data)


def check_document(case: DocumentCase) -> str | None:
    """Parse ``case`` as its kind and read the result as pybuild's readers do; None when that works or the
    parser refuses the document with a `BuildError` naming it."""
    from builder.errors import BuildError

    try:
        _READERS[case.kind](case.data)
    except BuildError as error:
        return None if error.message.strip() else "a BuildError without a message"
    return None


def _read_manifest(data: bytes) -> None:
    from builder.oci import media
    from builder.oci.manifest import parse_manifest

    doc = parse_manifest(data, "manifest")
    for layer in doc["layers"]:
        media.layer_compression(layer["mediaType"])
        assert isinstance(layer["digest"], str) and isinstance(layer["size"], int)
    assert isinstance(doc["config"]["digest"], str) and isinstance(doc["config"]["size"], int)


def _read_index(data: bytes) -> None:
    from builder.oci.load import _ref_from_annotations
    from builder.oci.manifest import parse_index
    from builder.platforms import Platform

    doc = parse_index(data, "index")
    for entry in doc["manifests"]:
        Platform.from_document(entry.get("platform") or {})
        Platform.host().matches(entry.get("platform") or {})
        _ref_from_annotations(entry.get("annotations") or {})


def _read_config(data: bytes) -> None:
    from builder.oci.config import diff_ids, layer_history, parse_config
    from builder.oci.display import human_age
    from builder.platforms import Platform

    doc = parse_config(data, "config")
    diff_ids(doc)
    for entry, _diff_id in layer_history(doc):
        human_age(entry.get("created"))
    human_age(doc.get("created"))
    Platform.from_document(doc)
    container = doc.get("config") or {}
    for variable in container.get("Env") or []:
        variable.partition("=")
    for key, value in (container.get("Labels") or {}).items():
        assert isinstance(key, str) and isinstance(value, str)


def _read_archive_manifest(data: bytes) -> None:
    from builder.oci.load import parse_archive_manifest
    from builder.refs import RefError, parse_ref

    for entry in parse_archive_manifest(data):
        assert isinstance(entry["Config"], str)
        for name in entry["Layers"]:
            assert isinstance(name, str)
        for tag in entry.get("RepoTags") or []:
            with contextlib.suppress(RefError):
                parse_ref(tag)


_READERS = {
    "manifest": _read_manifest,
    "index": _read_index,
    "config": _read_config,
    "docker-archive": _read_archive_manifest,
}
