"""Alpine packages: ``/lib/apk/db/installed``, one paragraph per package (``P:`` name, ``V:`` version,
``A:`` arch, ``L:`` license, ``o:`` origin; ``F:`` a directory and the ``R:`` lines after it its files).
The purl is ``pkg:apk/ID/NAME@VERSION?arch=ARCH&distro=ID-VERSION_ID`` (``ID`` from os-release, ``alpine``
when the image has none), with ``upstream=ORIGIN`` where the origin differs, as syft writes them.
"""

from __future__ import annotations

from builder.attest.catalog import Package, package_url, text
from builder.attest.catalog.osrelease import OsRelease
from builder.attest.files import ImageFiles, read_bytes

INSTALLED = "/lib/apk/db/installed"


def _paragraphs(text: str) -> list[list[tuple[str, str]]]:
    paragraphs: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        if not line.strip():
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        key, colon, value = line.partition(":")
        if colon and len(key) == 1:
            paragraphs[-1].append((key, value))
    return [p for p in paragraphs if p]


def _package(lines: list[tuple[str, str]], os_release: OsRelease) -> Package | None:
    fields: dict[str, str] = {}
    owned: list[str] = []
    directory = ""
    for key, value in lines:
        if key == "F":
            directory = value.strip("/")
        elif key == "R":
            owned.append("/" + (f"{directory}/{value}" if directory else value))
        else:
            fields.setdefault(key, text(value))
    name, version = fields.get("P", ""), fields.get("V", "")
    if not name or not version:
        return None
    qualifiers = {}
    if fields.get("A"):
        qualifiers["arch"] = fields["A"]
    if fields.get("o") and fields["o"] != name:
        qualifiers["upstream"] = fields["o"]
    if os_release.distro:
        qualifiers["distro"] = os_release.distro
    namespace = os_release.id or "alpine"
    purl = package_url("apk", name, version, namespace, qualifiers)
    if purl is None:
        return None
    return Package("apk", name, version, purl, fields.get("L") or None, tuple(owned), INSTALLED)


def catalog_apk(files: ImageFiles, os_release: OsRelease) -> list[Package]:
    """The installed apk packages of the image, in database order."""
    data = read_bytes(files, INSTALLED)
    if data is None:
        return []
    packages = []
    for lines in _paragraphs(data.decode("utf-8", "surrogateescape")):
        package = _package(lines, os_release)
        if package is not None:
            packages.append(package)
    return packages
