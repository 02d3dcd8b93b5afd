"""Go modules compiled into the image's executables (`builder.attest.catalog.gobuildinfo`): the main module
(or, for a binary built outside module mode, its main package path, without a version), each dependency,
and the standard library (``stdlib`` at the Go version, as syft lists it). Each is contained in the binary:
its ``files`` is the binary's path. Purls: ``pkg:golang/MODULE@VERSION``; a ``(devel)`` version is left out.
"""

from __future__ import annotations

from packageurl import PackageURL

from builder.attest.catalog import Package
from builder.attest.catalog.gobuildinfo import BuildInfo, read_buildinfo
from builder.attest.files import ImageFiles

#: Smaller files are not Go programs (the smallest static Go binary is over 1 MB): skip them unread.
MIN_SIZE = 64 << 10


def _purl(module: str, version: str | None) -> str:
    namespace, _, name = module.rpartition("/")
    if version == "(devel)":
        version = None
    return PackageURL(type="golang", namespace=namespace or None, name=name, version=version).to_string()


def go_packages(binary: str, info: BuildInfo) -> list[Package]:
    """The packages ``info`` (read from the executable at image path ``binary``) describes."""
    files = (binary,)
    packages = []
    if info.main is not None:
        packages.append(
            Package(
                "go",
                info.main.path,
                info.main.version,
                _purl(info.main.path, info.main.version),
                None,
                files,
                binary,
            )
        )
    elif info.path:
        packages.append(Package("go", info.path, None, _purl(info.path, None), None, files, binary))
    for dep in info.deps:
        packages.append(Package("go", dep.path, dep.version, _purl(dep.path, dep.version), None, files, binary))
    if info.go_version.startswith("go"):
        version = info.go_version[2:].split(" ")[0]
        packages.append(Package("go", "stdlib", version, _purl("stdlib", version), None, files, binary))
    return packages


def catalog_binary(files: ImageFiles, path: str) -> list[Package]:
    """The Go packages of the regular file at ``path`` (no symlinks in it), [] when it is not a Go binary."""
    try:
        with files.open(path) as handle:
            info = read_buildinfo(handle)
    except OSError:
        return []
    return go_packages(path, info) if info is not None else []
