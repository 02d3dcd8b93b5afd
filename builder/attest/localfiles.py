"""Attestations as files in a ``-o type=local`` directory (or ``type=tar`` archive), as BuildKit's local
exporter writes them (``exporter/local/fs.go``): each statement re-made with the output's regular files as
its subjects (path and sha256, in walk order), indented JSON, mode 0600, beside the root filesystem, named
by its ``path`` (``provenance.json``, ``sbom.spdx.json``); a name given twice is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from builder.attest.manifests import AttestationStatement
from builder.errors import BuildError

_CHUNK = 1 << 20
_NAMES = {
    "https://slsa.dev/provenance/v0.2": "provenance.json",
    "https://slsa.dev/provenance/v1": "provenance.json",
    "https://spdx.dev/Document": "sbom.spdx.json",
}


def file_name(statement: AttestationStatement) -> str:
    """The file a statement is written as: its own ``path``, else by predicate type."""
    if statement.path:
        return os.path.basename(statement.path)
    return _NAMES.get(statement.predicate_type, "attestation.json")


def file_subjects(root: Path) -> list[dict]:
    """Every regular file under ``root`` (not following links) in lexical walk order, as in-toto subjects."""
    subjects = []

    def walk(directory: Path, prefix: str) -> None:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            relative = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                walk(Path(entry.path), relative + "/")
            elif entry.is_file(follow_symlinks=False):
                digest = hashlib.sha256()
                with open(entry.path, "rb") as stream:
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                subjects.append({"name": relative, "digest": {"sha256": digest.hexdigest()}})

    walk(root, "")
    return subjects


def write_files(
    root: Path, statements: Sequence[AttestationStatement], mtime: float | None = None
) -> list[str]:
    """Write ``statements`` into the exported root filesystem ``root``, each with the files of ``root`` (as
    they were before) as subjects; returns the names written. ``mtime``: the files' time (the build's, or
    SOURCE_DATE_EPOCH). Raises `BuildError` when two statements share a name."""
    if not statements:
        return []
    subjects = file_subjects(root)
    names: list[str] = []
    for statement in statements:
        name = file_name(statement)
        if name in names:
            raise BuildError(f"duplicate attestation path name {name}")
        names.append(name)
    for statement, name in zip(statements, names, strict=True):
        document = json.loads(statement.body)
        document["subject"] = subjects
        path = root / name
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(json.dumps(document, indent=2, ensure_ascii=False).encode())
        if mtime is not None:
            os.utime(path, (mtime, mtime), follow_symlinks=False)
    return names
