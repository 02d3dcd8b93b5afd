"""Debian packages: ``/var/lib/dpkg/status`` (and the per-package files of ``/var/lib/dpkg/status.d/`` that
distroless images carry), with each package's files from ``/var/lib/dpkg/info/NAME[:ARCH].list`` (or, in
``status.d`` images, its ``.md5sums``).

Only packages whose status says they are installed count. The purl is
``pkg:deb/ID/NAME@VERSION?arch=ARCH&distro=ID-VERSION_ID`` (``ID`` from os-release, ``debian`` when the image
has none), with ``upstream=SOURCE`` where the source package's name differs, as syft writes them. Licenses
come from the package's copyright file (`builder.attest.catalog.debcopyright`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from builder.attest.catalog import Package, package_url, text
from builder.attest.catalog.debcopyright import declared_license
from builder.attest.catalog.osrelease import OsRelease
from builder.attest.files import ImageFiles, read_bytes

STATUS = "/var/lib/dpkg/status"
STATUS_D = "/var/lib/dpkg/status.d"
INFO = "/var/lib/dpkg/info"


def parse_stanzas(text: str) -> Iterator[dict[str, str]]:
    """The paragraphs of a deb822 file as dicts (continuation lines joined with newlines)."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                fields[key] += "\n" + line.strip()
        else:
            name, colon, value = line.partition(":")
            if colon:
                key = name.strip()
                fields[key] = value.strip()
    if fields:
        yield fields


def _installed(fields: dict[str, str]) -> bool:
    status = fields.get("Status")
    # status.d files of distroless images have no Status field: they list installed packages only
    return status is None or status.split()[-1:] == ["installed"]


def _list_files(files: ImageFiles, name: str, arch: str) -> tuple[str, ...]:
    for candidate in (f"{name}:{arch}.list", f"{name}.list"):
        data = read_bytes(files, posixpath.join(INFO, candidate))
        if data is not None:
            return tuple(p for p in data.decode("utf-8", "surrogateescape").splitlines() if p.startswith("/"))
    return ()


def _md5sums_files(files: ImageFiles, path: str) -> tuple[str, ...]:
    data = read_bytes(files, path)
    if data is None:
        return ()
    out = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        _digest, _sep, name = line.partition("  ")
        if name:
            out.append("/" + name.lstrip("/"))
    return tuple(out)


def _package(
    fields: dict[str, str], os_release: OsRelease, owned: tuple[str, ...], source: str, license_text: str | None
) -> Package | None:
    name, version = text(fields.get("Package", "")), text(fields.get("Version", ""))
    if not name or not version:
        return None
    arch = text(fields.get("Architecture", ""))
    qualifiers = {}
    if arch:
        qualifiers["arch"] = arch
    upstream = text(fields.get("Source", "")).split(" ")[0]
    if upstream and upstream != name:
        qualifiers["upstream"] = upstream
    distro = os_release.distro
    if distro:
        qualifiers["distro"] = distro
    namespace = os_release.id or "debian"
    purl = package_url("deb", name, version, namespace, qualifiers)
    if purl is None:
        return None
    return Package("deb", name, version, purl, license_text, owned, source)


def catalog_dpkg(files: ImageFiles, os_release: OsRelease) -> list[Package]:
    """The installed Debian packages of the image, in database order."""
    packages: list[Package] = []
    data = read_bytes(files, STATUS)
    if data is not None:
        for fields in parse_stanzas(data.decode("utf-8", "surrogateescape")):
            if not _installed(fields):
                continue
            owned = _list_files(files, fields.get("Package", ""), fields.get("Architecture", ""))
            declared = declared_license(files, fields.get("Package", ""))
            package = _package(fields, os_release, owned, STATUS, declared)
            if package is not None:
                packages.append(package)
    info = files.lstat(STATUS_D)
    if info is not None and info.kind == "dir":
        for entry, entry_info in sorted(files.scandir(STATUS_D), key=lambda e: e[0]):
            if entry_info.kind != "file" or entry.endswith(".md5sums"):
                continue
            path = posixpath.join(STATUS_D, entry)
            text = (read_bytes(files, path) or b"").decode("utf-8", "surrogateescape")
            for fields in parse_stanzas(text):
                if _installed(fields):
                    owned = _md5sums_files(files, path + ".md5sums")
                    declared = declared_license(files, fields.get("Package", ""))
                    package = _package(fields, os_release, owned, path, declared)
                    if package is not None:
                        packages.append(package)
    return packages
