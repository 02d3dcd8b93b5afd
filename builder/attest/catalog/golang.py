"""Go modules compiled into the image's executables (`builder.attest.catalog.gobuildinfo`): the main module
(or, for a binary built outside module mode, its main package path, without a version), each dependency,
and the standard library (``stdlib`` at the Go version, as syft lists it). Each is contained in the binary:
its ``files`` is the binary's path. Purls: ``pkg:golang/MODULE@VERSION``; a ``(devel)`` version is left out.
"""

from __future__ import annotations

from builder.attest.catalog import Package, package_url, text
from builder.attest.catalog.gobuildinfo import BuildInfo, read_buildinfo
from builder.attest.files import ImageFiles

#: Smaller files are not Go programs (the smallest static Go binary is over 1 MB): skip them unread.
MIN_SIZE = 64 << 10


def _package(module: str, version: str | None, binary: str) -> Package | None:
    module, version = text(module), text(version) if version else None
    namespace, _, name = module.rpartition("/")
    purl = package_url("golang", name, None if version == "(devel)" else version, namespace)
    return None if purl is None else Package("go", module, version, purl, None, (binary,), binary)


def go_packages(binary: str, info: BuildInfo) -> list[Package]:
    """The packages ``info`` (read from the executable at image path ``binary``) describes."""
    found = []
    if info.main is not None:
        found.append(_package(info.main.path, info.main.version, binary))
    elif info.path:
        found.append(_package(info.path, None, binary))
    found += [_package(dep.path, dep.version, binary) for dep in info.deps]
    if info.go_version.startswith("go"):
        found.append(_package("stdlib", info.go_version[2:].split(" ")[0], binary))
    return [package for package in found if package is not None]


def catalog_binary(files: ImageFiles, path: str) -> list[Package]:
    """The Go packages of the regular file at ``path`` (no symlinks in it), [] when it is not a Go binary."""
    try:
        with files.open(path) as handle:
            info = read_buildinfo(handle)
    except OSError:
        return []
    return go_packages(path, info) if info is not None else []
