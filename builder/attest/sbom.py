"""The SBOM of an image: what its package databases say it contains, as an SPDX 2.3 document, wrapped as
BuildKit wraps its SBOM attestation (predicate type ``https://spdx.dev/Document``).

Sources (`builder.attest.catalog`): dpkg, apk, Python distributions in site-/dist-packages, npm packages in
node_modules, Go modules in executables. Cost: one walk of the file tree (names and lstat), the package
databases, the first bytes of each executable of 64 KiB or more (ELF header and section table), and one read
of every regular file a package owns (SHA-1 and SHA-256 in the same pass, 1 MiB at a time; each file once,
however many packages own it). Files that no package owns are not listed, as in syft's default.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from builder.attest.catalog import Package
from builder.attest.catalog.scan import catalog
from builder.attest.files import ImageFiles, resolve
from builder.attest.intoto import Statement, Subject
from builder.attest.spdx import FileDigests, spdx_document

PREDICATE_TYPE = "https://spdx.dev/Document"
_CHUNK = 1 << 20


def _digests(files: ImageFiles, packages: list[Package]) -> dict[str, FileDigests]:
    """Digests of every owned path that is a regular file in the image. Symlinks on the way are followed
    (``/lib`` → ``usr/lib`` in merged-/usr images); a path that is itself a symlink is not a file of its own
    (its target is listed under the package that owns it)."""
    by_real: dict[str, FileDigests | None] = {}
    parents: dict[str, str | None] = {}  # a directory's path → where it really is (resolved once)
    out: dict[str, FileDigests] = {}
    for package in packages:
        for path in package.files:
            if path in out:
                continue
            parent, _, base = path.rpartition("/")
            parent = parent or "/"
            if parent not in parents:
                parents[parent] = resolve(files, parent)
            real_parent = parents[parent]
            if real_parent is None or not base:
                continue
            real = real_parent.rstrip("/") + "/" + base
            if real not in by_real:
                by_real[real] = _hash(files, real)
            digest = by_real[real]
            if digest is not None:
                out[path] = digest
    return out


def _hash(files: ImageFiles, path: str) -> FileDigests | None:
    info = files.lstat(path)
    if info is None or info.kind != "file":
        return None
    sha1 = hashlib.sha1(usedforsecurity=False)
    sha256 = hashlib.sha256()
    try:
        with files.open(path) as handle:
            while chunk := handle.read(_CHUNK):
                sha1.update(chunk)
                sha256.update(chunk)
    except OSError:
        return None
    return FileDigests(sha1.hexdigest(), sha256.hexdigest())


def _creator() -> str:
    from builder.version import __version__

    return f"Tool: pybuild-{__version__}"


def sbom_document(files: ImageFiles, *, name: str, created: datetime) -> dict[str, Any]:
    """The SPDX 2.3 document (a JSON-ready dict) of the image whose root filesystem ``files`` shows.
    ``name``: the image's name (its reference, or what the build calls it); ``created``: the document's
    creation time (the build's time, clamped to SOURCE_DATE_EPOCH by the caller when one is set)."""
    packages = catalog(files)
    return spdx_document(packages, _digests(files, packages), name=name, created=created, creator=_creator())


def sbom_statement(
    files: ImageFiles, *, name: str, created: datetime, subjects: tuple[Subject, ...] = ()
) -> Statement:
    """`sbom_document` as an in-toto statement about ``subjects`` (see `Statement.with_subjects`)."""
    return Statement(PREDICATE_TYPE, sbom_document(files, name=name, created=created), tuple(subjects))
