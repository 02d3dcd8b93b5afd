"""An SPDX 2.3 JSON document from catalogued packages.

Shape: the image is one package (``primaryPackagePurpose: CONTAINER``) that the document ``DESCRIBES`` and
that ``CONTAINS`` every package found; each package ``CONTAINS`` the files it owns that the image holds as
regular files, each file listed once (by its path relative to the image's root, ``./usr/bin/python3.11``,
as SPDX wants file names) with its SHA-1 (SPDX 2.3 requires it) and SHA-256. A package with such
files has ``filesAnalyzed: true`` and a package verification code computed from them; one without (a
package whose files are all directories or gone) has ``filesAnalyzed: false``. Licenses: ``licenseDeclared``
from the record (`builder.attest.licenses`), else ``NOASSERTION``; ``licenseConcluded`` is always
``NOASSERTION`` (nothing is concluded by reading files). Element ids derive from package URLs and paths,
and the namespace from the document's content, so the same image gives the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from builder.attest.catalog import Package, text
from builder.attest.intoto import go_json
from builder.attest.licenses import spdx_expression

NOASSERTION = "NOASSERTION"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class FileDigests:
    """The digests of one regular file, as hex."""

    sha1: str
    sha256: str


def _slug(text: str, limit: int = 48) -> str:
    return _ID_UNSAFE.sub("-", text)[:limit].strip("-") or "x"


def _short(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


class _Ids:
    """Unique SPDX ids: a readable stem and a hash; a collision (never expected) gets a counter."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, stem: str) -> str:
        candidate, n = stem, 1
        while candidate in self.used:
            n += 1
            candidate = f"{stem}-{n}"
        self.used.add(candidate)
        return candidate


def spdx_time(moment: datetime) -> str:
    """SPDX's timestamp form: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def spdx_document(
    packages: Sequence[Package],
    digests: Mapping[str, FileDigests],
    *,
    name: str,
    created: datetime,
    creator: str,
) -> dict[str, Any]:
    """The SPDX document of an image called ``name`` holding ``packages``; ``digests`` has an entry for every
    owned path that is a regular file in the image (others are left out of the document)."""
    ids = _Ids()
    image_id = ids.make(f"SPDXRef-DocumentRoot-Image-{_slug(name)}")
    image_package = {
        "name": name,
        "SPDXID": image_id,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": NOASSERTION,
        "copyrightText": NOASSERTION,
        "primaryPackagePurpose": "CONTAINER",
    }
    spdx_packages: list[dict[str, Any]] = [image_package]
    spdx_files: list[dict[str, Any]] = []
    file_ids: dict[str, str] = {}
    extracted: dict[str, str] = {}
    relationships: list[dict[str, str]] = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": image_id}
    ]
    contains: list[dict[str, str]] = []
    # what makes this document this one, for its namespace: every package and every file digest
    content = hashlib.sha256(f"{name}\n{spdx_time(created)}\n{creator}\n".encode())
    for package in packages:
        key = _short(package.purl + "|" + package.source)
        package_id = ids.make(f"SPDXRef-Package-{package.ecosystem}-{_slug(package.name)}-{key}")
        owned = [path for path in dict.fromkeys(package.files) if path in digests]
        entry: dict[str, Any] = {"name": package.name, "SPDXID": package_id}
        if package.version:
            entry["versionInfo"] = package.version
        entry["downloadLocation"] = NOASSERTION
        entry["filesAnalyzed"] = bool(owned)
        if owned:
            code = hashlib.sha1("".join(sorted(digests[p].sha1 for p in owned)).encode(), usedforsecurity=False)
            entry["packageVerificationCode"] = {"packageVerificationCodeValue": code.hexdigest()}
        entry["sourceInfo"] = f"acquired package info from {package.ecosystem} records: {package.source}"
        entry["licenseConcluded"] = NOASSERTION
        declared = NOASSERTION
        if package.license:
            declared, extra = spdx_expression(package.license)
            if extra is not None:
                extracted[extra.license_id] = extra.text
        entry["licenseDeclared"] = declared
        entry["copyrightText"] = NOASSERTION
        entry["externalRefs"] = [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": package.purl}
        ]
        spdx_packages.append(entry)
        content.update(go_json(entry) + b"\n")
        relationships.append(
            {"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": package_id}
        )
        for path in owned:
            if path not in file_ids:
                file_ids[path] = ids.make(f"SPDXRef-File-{_slug(path.rsplit('/', 1)[-1])}-{_short(path)}")
                spdx_files.append(
                    {
                        "fileName": "." + text(path),
                        "SPDXID": file_ids[path],
                        "checksums": [
                            {"algorithm": "SHA1", "checksumValue": digests[path].sha1},
                            {"algorithm": "SHA256", "checksumValue": digests[path].sha256},
                        ],
                        "licenseConcluded": NOASSERTION,
                        "copyrightText": NOASSERTION,
                    }
                )
            content.update(f"{package_id} {path} {digests[path].sha256}\n".encode("utf-8", "surrogatepass"))
            contains.append(
                {
                    "spdxElementId": package_id,
                    "relationshipType": "CONTAINS",
                    "relatedSpdxElement": file_ids[path],
                }
            )
    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": "",
        "creationInfo": {"creators": [creator], "created": spdx_time(created)},
        "packages": spdx_packages,
        "files": spdx_files,
    }
    if extracted:
        document["hasExtractedLicensingInfos"] = [
            {"licenseId": key, "extractedText": text, "name": text[:100]}
            for key, text in sorted(extracted.items())
        ]
    document["relationships"] = relationships + contains
    # the namespace must be unique per document; a digest of the content makes it so and keeps it reproducible
    document["documentNamespace"] = f"https://spdx.org/spdxdocs/pybuild-{_slug(name)}-{content.hexdigest()}"
    return document
