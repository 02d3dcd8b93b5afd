"""What a statement is about, as BuildKit v0.13 names it.

An image (a registry push, an OCI layout, the store): one subject per image name, ``pkg:docker/NAME@TAG?
platform=OS%2FARCH`` (`builder.attest.imagepurl.image_purl`), each with the platform's manifest digest; an
image without a name has no subject. A local export (``-o type=local``): every regular file of the exported
tree, by its path relative to the tree's root, in the order of a depth-first walk with each directory's
names sorted (BuildKit's fsutil walk: ``a/b`` comes before ``a.txt``), with the digest of its content;
symlinks and other non-regular entries are not subjects (tests/attest/recorded/local-provenance-*.json).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

from builder.attest.imagepurl import image_purl
from builder.attest.intoto import Subject

_CHUNK = 1 << 20


def image_subjects(names: Iterable[str], platform: str, manifest_digest: str) -> tuple[Subject, ...]:
    """Subjects for the image whose ``platform`` manifest has ``manifest_digest`` (``sha256:…``), tagged
    ``names`` (references such as ``registry:5000/app:1``; empty names are skipped, as BuildKit skips them)."""
    algorithm, _, hexpart = manifest_digest.partition(":")
    if algorithm != "sha256":
        raise ValueError(f"subject digest must be sha256, not {manifest_digest!r}")
    return tuple(Subject(image_purl(name, platform), hexpart) for name in names if name)


def directory_subjects(root: str | os.PathLike[str]) -> tuple[Subject, ...]:
    """Subjects for every regular file under ``root`` (an exported tree on the host), read as a stream;
    symlinks are neither followed nor listed."""
    out: list[Subject] = []
    # a stack of (directory's relative path, its entries sorted, position): depth-first without recursion
    stack = [("", _sorted_entries(os.fspath(root)), 0)]
    while stack:
        relative, entries, position = stack.pop()
        if position == len(entries):
            continue
        stack.append((relative, entries, position + 1))
        entry = entries[position]
        path = f"{relative}/{entry.name}" if relative else entry.name
        if entry.is_dir(follow_symlinks=False):
            stack.append((path, _sorted_entries(entry.path), 0))
        elif entry.is_file(follow_symlinks=False):
            digest = hashlib.sha256()
            with open(entry.path, "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
            out.append(Subject(path, digest.hexdigest()))
    return tuple(out)


def _sorted_entries(directory: str) -> list[os.DirEntry[str]]:
    with os.scandir(directory) as entries:
        return sorted(entries, key=lambda e: e.name)
