"""Python distributions installed in a ``site-packages`` or ``dist-packages`` directory:
``NAME.dist-info/`` (``METADATA``, files from ``RECORD``), ``NAME.egg-info/`` (``PKG-INFO``, files from
``installed-files.txt``, else the ``SOURCES.txt`` entries that exist in the directory) and a bare
``NAME.egg-info`` file (``PKG-INFO`` alone, as Debian's python3 packages install them). The purl is
``pkg:pypi/NAME@VERSION`` (the name normalised as the purl spec says for pypi).

License: ``License-Expression`` (PEP 639) when present, else the ``License`` field when it is one short line,
else the license classifiers mapped to SPDX ids (`CLASSIFIERS`), else none.
"""

from __future__ import annotations

import csv
import email.parser
import email.policy
import posixpath

from builder.attest.catalog import Package, package_url, text
from builder.attest.files import FileInfo, ImageFiles, read_bytes

SITE_DIRS = ("site-packages", "dist-packages")

#: Common ``License ::`` trove classifiers and their SPDX ids (classifiers name licenses, not versions, where
#: several exist: those are left out).
CLASSIFIERS = {
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: MIT No Attribution License (MIT-0)": "MIT-0",
    "License :: OSI Approved :: Apache Software License": "Apache-2.0",
    "License :: OSI Approved :: BSD License": "BSD-3-Clause",
    "License :: OSI Approved :: ISC License (ISCL)": "ISC",
    "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "License :: OSI Approved :: GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "License :: OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "License :: OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)": "LGPL-2.0-or-later",
    "License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
    "License :: OSI Approved :: zlib/libpng License": "Zlib",
    "License :: OSI Approved :: Zope Public License": "ZPL-2.1",
    "License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
}


def _metadata(data: bytes) -> tuple[str, str | None, str | None]:
    """(Name, Version, license) of a METADATA / PKG-INFO file."""
    message = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(data.decode("utf-8", "replace"))
    name = text(str(message.get("Name") or "")).strip()
    version = text(str(message.get("Version") or "")).strip() or None
    license_text = text(str(message.get("License-Expression") or "")).strip()
    if not license_text:
        field = text(str(message.get("License") or "")).strip()
        if field and "\n" not in field and len(field) <= 100 and field.upper() != "UNKNOWN":
            license_text = field
    if not license_text:
        ids = sorted(
            {
                CLASSIFIERS[str(c).strip()]
                for c in message.get_all("Classifier") or []
                if str(c).strip() in CLASSIFIERS
            }
        )
        license_text = " OR ".join(ids)
    return name, version, license_text or None


def _record_files(site: str, data: bytes) -> list[str]:
    """The paths a RECORD lists (its first CSV column), relative to the site directory; a line that is not
    CSV is skipped."""
    out = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        try:
            row = next(csv.reader([line]), None)
        except csv.Error:
            continue
        if row and row[0]:
            out.append(posixpath.normpath(posixpath.join(site, row[0])))
    return out


def _lines_under(base: str, data: bytes) -> list[str]:
    return [
        posixpath.normpath(posixpath.join(base, line.strip()))
        for line in data.decode("utf-8", "surrogateescape").splitlines()
        if line.strip()
    ]


def _distribution(files: ImageFiles, site: str, entry: str, info: FileInfo) -> Package | None:
    path = posixpath.join(site, entry)
    owned: list[str] = []
    if entry.endswith(".dist-info") and info.kind == "dir":
        metadata_path = posixpath.join(path, "METADATA")
        record = read_bytes(files, posixpath.join(path, "RECORD"))
        if record is not None:
            owned = _record_files(site, record)
    elif entry.endswith(".egg-info") and info.kind == "dir":
        metadata_path = posixpath.join(path, "PKG-INFO")
        installed = read_bytes(files, posixpath.join(path, "installed-files.txt"))
        if installed is not None:
            owned = _lines_under(path, installed)
        else:
            sources = read_bytes(files, posixpath.join(path, "SOURCES.txt"))
            candidates = _lines_under(site, sources) if sources is not None else []
            owned = [p for p in candidates if files.lstat(p) is not None]
    elif entry.endswith(".egg-info") and info.kind == "file":
        metadata_path = path
    else:
        return None
    data = read_bytes(files, metadata_path, limit=4 << 20)
    if data is None:
        return None
    name, version, license_text = _metadata(data)
    if not name:
        return None
    purl = package_url("pypi", name, version)
    if purl is None:
        return None
    if owned and metadata_path not in owned:
        owned.insert(0, metadata_path)
    return Package("python", name, version, purl, license_text, tuple(owned or [metadata_path]), metadata_path)


def catalog_site_dir(files: ImageFiles, site: str, entries: list[tuple[str, FileInfo]]) -> list[Package]:
    """The distributions in the site directory ``site``, given its entries (name, info) in sorted order."""
    packages = []
    for entry, info in entries:
        package = _distribution(files, site, entry, info)
        if package is not None:
            packages.append(package)
    return packages
