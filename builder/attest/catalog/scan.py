"""One pass over an image: every cataloger, in a fixed order (dpkg, apk, then what the walk finds in path
order), so the same image gives the same package list every time."""

from __future__ import annotations

import posixpath

from builder.attest.catalog import Package
from builder.attest.catalog.apk import catalog_apk
from builder.attest.catalog.dpkg import catalog_dpkg
from builder.attest.catalog.golang import MIN_SIZE, catalog_binary
from builder.attest.catalog.npm import catalog_node_modules
from builder.attest.catalog.osrelease import read_os_release
from builder.attest.catalog.python import SITE_DIRS, catalog_site_dir
from builder.attest.files import FileInfo, ImageFiles, walk

#: Kernel file systems mounted at run time: whatever an image has there is not content worth reading.
_SKIP_AT_ROOT = ("proc", "sys", "dev")


def catalog(files: ImageFiles) -> list[Package]:
    """Every package the image's records describe."""
    os_release = read_os_release(files)
    packages = catalog_dpkg(files, os_release) + catalog_apk(files, os_release)
    for directory, subdirs, others in walk(files):
        if directory == "/":
            subdirs[:] = [name for name in subdirs if name not in _SKIP_AT_ROOT]
        base = posixpath.basename(directory)
        if base in SITE_DIRS:
            entries = [(name, FileInfo("dir", 0o755, 0)) for name in subdirs] + others
            packages += catalog_site_dir(files, directory, sorted(entries, key=lambda e: e[0]))
        elif base == "node_modules":
            packages += catalog_node_modules(files, directory, subdirs)
        for name, info in others:
            if info.kind == "file" and info.mode & 0o111 and info.size >= MIN_SIZE:
                packages += catalog_binary(files, posixpath.join(directory, name))
    return packages
