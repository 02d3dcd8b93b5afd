"""npm packages: ``node_modules/NAME/package.json`` and ``node_modules/@SCOPE/NAME/package.json``, at any depth
(nested ``node_modules`` are found by the caller's walk). The purl is ``pkg:npm/[%40SCOPE/]NAME@VERSION``.

npm keeps no list of the files a package installed, and a package's directory can hold thousands; the
package is therefore described by its manifest alone (its ``files`` is its ``package.json``), which keeps an
SBOM of a large ``node_modules`` bounded. License: ``license`` (a string, or the old ``{"type": …}`` form),
else the old ``licenses`` list joined with ``OR``.
"""

from __future__ import annotations

import json
import posixpath

from builder.attest.catalog import Package, package_url, text
from builder.attest.files import ImageFiles, read_bytes


def _license(manifest: dict) -> str | None:
    value = manifest.get("license")
    if isinstance(value, dict):
        value = value.get("type")
    if isinstance(value, str) and value.strip():
        return text(value.strip())
    listed = manifest.get("licenses")
    if isinstance(listed, list):
        names = [e.get("type") if isinstance(e, dict) else e for e in listed]
        names = [n.strip() for n in names if isinstance(n, str) and n.strip()]
        if names:
            return text(" OR ".join(names))
    return None


def _package(files: ImageFiles, directory: str) -> Package | None:
    manifest_path = posixpath.join(directory, "package.json")
    data = read_bytes(files, manifest_path, limit=4 << 20)
    if data is None:
        return None
    try:
        manifest = json.loads(data)
    except ValueError:
        return None
    if not isinstance(manifest, dict):
        return None
    full_name, version = manifest.get("name"), manifest.get("version")
    if not isinstance(full_name, str) or not full_name or not isinstance(version, str):
        return None
    full_name, version = text(full_name), text(version)
    scope, slash, name = full_name.rpartition("/")
    purl = package_url("npm", name, version, scope if slash else None)
    if purl is None:
        return None
    return Package("npm", full_name, version or None, purl, _license(manifest), (manifest_path,), manifest_path)


def catalog_node_modules(files: ImageFiles, directory: str, subdirs: list[str]) -> list[Package]:
    """The packages directly in the ``node_modules`` directory ``directory`` (its subdirectory names given),
    scoped ones included."""
    packages = []
    for name in subdirs:
        path = posixpath.join(directory, name)
        if name.startswith("@"):
            try:
                scoped = sorted(n for n, info in files.scandir(path) if info.kind == "dir")
            except OSError:
                continue
            candidates = [posixpath.join(path, n) for n in scoped]
        elif name.startswith("."):
            continue  # .bin, .cache, .package-lock.json's neighbours: npm's own
        else:
            candidates = [path]
        for candidate in candidates:
            package = _package(files, candidate)
            if package is not None:
                packages.append(package)
    return packages
