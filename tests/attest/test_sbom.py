"""SBOMs of image root filesystems, one ecosystem at a time, each document validated by spdx-tools (the SPDX
project's own parser and validator), and the same image giving the same bytes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from builder.attest.files import DirectoryFiles, LayeredFiles
from builder.attest.intoto import go_json
from builder.attest.sbom import PREDICATE_TYPE, sbom_document, sbom_statement
from builder.layer.whiteouts import make_whiteout
from tests.attest.test_gobuildinfo import MODINFO, buildinfo_section, elf

CREATED = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def tree(root: Path, entries: dict[str, str | bytes]) -> None:
    for path, content in entries.items():
        full = root / path.lstrip("/")
        full.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str) and content.startswith("-> "):
            full.symlink_to(content[3:])
        else:
            full.write_bytes(content.encode() if isinstance(content, str) else content)


def valid_sbom(files, tmp_path: Path, name: str = "app:1") -> dict:
    """The SBOM of ``files``, after spdx-tools parsed and validated it without a single message."""
    document = sbom_document(files, name=name, created=CREATED)
    out = tmp_path / "sbom.spdx.json"
    out.write_bytes(go_json(document, indent=True))
    messages = validate_full_spdx_document(parse_file(str(out)))
    assert [m.validation_message for m in messages] == []
    return document


def package(document: dict, name: str) -> dict:
    found = [p for p in document["packages"] if p["name"] == name]
    assert len(found) == 1, [p["name"] for p in document["packages"]]
    return found[0]


def purl(entry: dict) -> str:
    return next(r["referenceLocator"] for r in entry["externalRefs"] if r["referenceType"] == "purl")


def contained_files(document: dict, entry: dict) -> dict[str, dict]:
    ids = {
        r["relatedSpdxElement"]
        for r in document["relationships"]
        if r["spdxElementId"] == entry["SPDXID"] and r["relationshipType"] == "CONTAINS"
    }
    return {f["fileName"]: f for f in document["files"] if f["SPDXID"] in ids}


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_debian_image_with_python3_lists_python3_with_version_and_purl(tmp_path):
    """A root filesystem made from this (Debian) machine's own dpkg database and python3's files."""
    root = tmp_path / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    shutil.copy("/var/lib/dpkg/status", root / "var/lib/dpkg/status")
    for listing in Path("/var/lib/dpkg/info").glob("*.list"):
        shutil.copy(listing, root / "var/lib/dpkg/info" / listing.name)
    for copyright_file in Path("/usr/share/doc").glob("*/copyright"):
        (root / "usr/share/doc" / copyright_file.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(copyright_file, root / "usr/share/doc" / copyright_file.parent.name / "copyright")
    tree(
        root,
        {
            "/usr/lib/os-release": Path("/usr/lib/os-release").read_bytes(),
            "/etc/os-release": "-> ../usr/lib/os-release",
        },
    )
    real = os.path.realpath("/usr/bin/python3")  # python3 → python3.11, owned by python3.X-minimal
    tree(root, {real: Path(real).read_bytes(), "/usr/bin/python3": "-> " + os.path.basename(real)})
    document = valid_sbom(DirectoryFiles(root), tmp_path)

    query = ["dpkg-query", "-W", "-f", "${Version} ${Architecture} ${source:Package}", "python3"]
    version, arch, source = subprocess.run(query, capture_output=True, text=True, check=True).stdout.split()
    os_release = dict(
        line.split("=", 1) for line in Path("/usr/lib/os-release").read_text().splitlines() if "=" in line
    )
    python3 = package(document, "python3")
    assert python3["versionInfo"] == version
    assert purl(python3) == (
        f"pkg:deb/debian/python3@{version.replace('+', '%2B')}?arch={arch}"
        f"&distro=debian-{os_release['VERSION_ID'].strip(chr(34))}&upstream={source}"
    )
    # the interpreter is a file of the package that installed it, with its real digest; the symlink is not
    owner = subprocess.run(["dpkg-query", "-S", real], capture_output=True, text=True, check=True).stdout
    owner_name = owner.split(":")[0]
    owned = contained_files(document, package(document, owner_name))
    assert owned["." + real]["checksums"][1] == {"algorithm": "SHA256", "checksumValue": sha256(real)}
    assert "./usr/bin/python3" not in {f["fileName"] for f in document["files"]}
    # licenses from the machine-readable copyright files, as SPDX expressions spdx-tools accepted above
    zlib = package(document, "zlib1g")
    assert zlib["licenseDeclared"] == "Zlib"
    assert sum(p["licenseDeclared"] != "NOASSERTION" for p in document["packages"]) > 100
    # one package per installed dpkg record, the image describing them all
    installed = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Status}\n"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len([p for p in document["packages"][1:] if purl(p).startswith("pkg:deb/")]) == installed.count(
        "installed"
    )
    image = document["packages"][0]
    assert image["primaryPackagePurpose"] == "CONTAINER" and image["name"] == "app:1"
    assert {
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": image["SPDXID"],
    } in document["relationships"]


def test_dpkg_status_installed_only_multiarch_lists_and_distroless_status_d(tmp_path):
    root = tmp_path / "root"
    tree(
        root,
        {
            "/etc/os-release": 'ID=debian\nVERSION_CODENAME=trixie\nPRETTY_NAME="trixie/sid"\n',
            "/var/lib/dpkg/status": (
                "Package: libfoo1\nStatus: install ok installed\nArchitecture: arm64\nMulti-Arch: same\n"
                "Source: foo (1.2-3)\nVersion: 1.2-3\nDescription: foo\n multi-line\n\n"
                "Package: removed\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 9\n\n"
                "Package: half\nStatus: install reinstreq half-installed\nArchitecture: all\nVersion: 1\n"
            ),
            "/var/lib/dpkg/info/libfoo1:arm64.list": "/.\n/usr\n/usr/lib/libfoo.so.1\n/usr/lib/gone.so\n",
            "/usr/lib/libfoo.so.1": b"\x7fELF foo",
            "/var/lib/dpkg/status.d/base-files": "Package: base-files\nVersion: 13.1\nArchitecture: arm64\n",
            "/var/lib/dpkg/status.d/base-files.md5sums": "d41d8cd98f00b204e9800998ecf  etc/debian_version\n",
            "/etc/debian_version": "trixie/sid\n",
        },
    )
    document = valid_sbom(DirectoryFiles(root), tmp_path)
    assert sorted(p["name"] for p in document["packages"][1:]) == ["base-files", "libfoo1"]
    libfoo = package(document, "libfoo1")
    assert purl(libfoo) == "pkg:deb/debian/libfoo1@1.2-3?arch=arm64&distro=debian-trixie&upstream=foo"
    assert set(contained_files(document, libfoo)) == {"./usr/lib/libfoo.so.1"}  # not /, /usr, a gone file
    base = package(document, "base-files")
    assert set(contained_files(document, base)) == {"./etc/debian_version"}


def test_python_distributions_in_site_and_dist_packages(tmp_path):
    root = tmp_path / "root"
    site = "/usr/local/lib/python3.12/site-packages"
    tree(
        root,
        {
            f"{site}/requests/__init__.py": "# requests\n",
            f"{site}/requests-2.31.0.dist-info/METADATA": (
                "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n"
            ),
            f"{site}/requests-2.31.0.dist-info/RECORD": (
                "requests/__init__.py,sha256=x,11\nrequests-2.31.0.dist-info/METADATA,,\n"
                "requests-2.31.0.dist-info/RECORD,,\n../../../bin/req,,\n"
            ),
            "/usr/local/bin/req": "#!/usr/bin/python3\n",
            f"{site}/Flask_Thing-1.0.dist-info/METADATA": (
                "Metadata-Version: 2.4\nName: Flask_Thing\nVersion: 1.0\n"
                "License-Expression: MIT OR Apache-2.0\n"
            ),
            f"{site}/old-0.1.egg-info/PKG-INFO": (
                "Metadata-Version: 1.1\nName: old\nVersion: 0.1\nLicense: UNKNOWN\n"
                "Classifier: License :: OSI Approved :: BSD License\n"
            ),
            f"{site}/old-0.1.egg-info/installed-files.txt": "../old.py\nPKG-INFO\n",
            f"{site}/old.py": "x = 1\n",
            "/usr/lib/python3/dist-packages/distro-1.8.0.egg-info": (
                "Metadata-Version: 1.1\nName: distro\nVersion: 1.8.0\nLicense: Apache License, Version 2.0\n"
            ),
            "/srv/not-site/fake-9.dist-info/METADATA": "Name: fake\nVersion: 9\n",
        },
    )
    document = valid_sbom(DirectoryFiles(root), tmp_path)
    requests = package(document, "requests")
    assert (requests["versionInfo"], purl(requests)) == ("2.31.0", "pkg:pypi/requests@2.31.0")
    assert set(contained_files(document, requests)) == {
        f".{site}/requests/__init__.py",
        f".{site}/requests-2.31.0.dist-info/METADATA",
        f".{site}/requests-2.31.0.dist-info/RECORD",
        "./usr/local/bin/req",
    }
    assert requests["licenseDeclared"].startswith("LicenseRef-Apache-2.0-")  # "Apache 2.0" is no SPDX id
    extracted = {e["licenseId"]: e["extractedText"] for e in document["hasExtractedLicensingInfos"]}
    assert extracted[requests["licenseDeclared"]] == "Apache 2.0"
    thing = package(document, "Flask_Thing")
    assert (purl(thing), thing["licenseDeclared"]) == ("pkg:pypi/flask-thing@1.0", "MIT OR Apache-2.0")
    old = package(document, "old")
    assert old["licenseDeclared"] == "BSD-3-Clause"
    assert f".{site}/old.py" in contained_files(document, old)
    assert purl(package(document, "distro")) == "pkg:pypi/distro@1.8.0"
    assert "fake" not in {p["name"] for p in document["packages"]}  # not in a site directory


def test_npm_packages_in_node_modules_at_any_depth(tmp_path):
    root = tmp_path / "root"
    tree(
        root,
        {
            "/app/package.json": json.dumps({"name": "my-app", "version": "1.0.0"}),
            "/app/node_modules/lodash/package.json": json.dumps(
                {"name": "lodash", "version": "4.17.21", "license": "MIT"}
            ),
            "/app/node_modules/@babel/core/package.json": json.dumps(
                {"name": "@babel/core", "version": "7.24.0", "license": {"type": "MIT"}}
            ),
            "/app/node_modules/lodash/node_modules/inner/package.json": json.dumps(
                {"name": "inner", "version": "0.0.1", "licenses": [{"type": "ISC"}, {"type": "MIT"}]}
            ),
            "/app/node_modules/.bin/x": "-> ../lodash/x.js",
            "/app/node_modules/broken/package.json": "{not json",
        },
    )
    document = valid_sbom(DirectoryFiles(root), tmp_path)
    names = {p["name"]: p for p in document["packages"][1:]}
    assert set(names) == {"lodash", "@babel/core", "inner"}
    assert purl(names["@babel/core"]) == "pkg:npm/%40babel/core@7.24.0"
    assert names["@babel/core"]["licenseDeclared"] == "MIT"
    assert names["inner"]["licenseDeclared"] == "ISC OR MIT"
    assert set(contained_files(document, names["lodash"])) == {"./app/node_modules/lodash/package.json"}


def test_alpine_packages_from_the_apk_database(tmp_path):
    root = tmp_path / "root"
    tree(
        root,
        {
            "/etc/os-release": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n',
            "/lib/apk/db/installed": (
                "C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\n"
                "P:busybox-binsh\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\nF:bin\nR:sh\n"
            ),
            "/lib/ld-musl-x86_64.so.1": b"\x7fELF musl",
            "/bin/sh": "-> /bin/busybox",
        },
    )
    document = valid_sbom(DirectoryFiles(root), tmp_path)
    musl = package(document, "musl")
    assert purl(musl) == "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
    assert musl["licenseDeclared"] == "MIT"
    assert set(contained_files(document, musl)) == {"./lib/ld-musl-x86_64.so.1"}
    binsh = package(document, "busybox-binsh")
    assert purl(binsh).endswith("?arch=x86_64&distro=alpine-3.19.1&upstream=busybox")
    assert binsh["filesAnalyzed"] is False  # its one file is a symlink


def test_go_modules_in_executables(tmp_path):
    root = tmp_path / "root"
    binary = elf({".text": b"\x90" * (70 << 10), ".go.buildinfo": buildinfo_section("go1.21.5", MODINFO)})
    tree(root, {"/usr/local/bin/server": binary, "/usr/local/bin/data.bin": binary})
    os.chmod(root / "usr/local/bin/server", 0o755)  # data.bin is not executable: not read
    runc = shutil.which("runc") or "/usr/sbin/runc"
    tree(root, {"/usr/sbin/runc": Path(runc).read_bytes()})
    os.chmod(root / "usr/sbin/runc", 0o755)
    document = valid_sbom(DirectoryFiles(root), tmp_path)
    reported = subprocess.run([runc, "--version"], capture_output=True, text=True, check=True).stdout
    runc_go = re.search(r"^go: go(\S+)$", reported, re.M).group(1)  # what runc says it was built with
    purls = sorted(purl(p) for p in document["packages"][1:])
    assert purls == sorted(
        [
            "pkg:golang/example.com/app@v1.4.2",
            "pkg:golang/github.com/new/lib@v1.1.0",
            "pkg:golang/github.com/opencontainers/runc",
            "pkg:golang/golang.org/x/sys@v0.15.0",
            f"pkg:golang/stdlib@{runc_go}",
            "pkg:golang/stdlib@1.21.5",
        ]
    )
    app = next(p for p in document["packages"] if p["name"] == "example.com/app")
    assert (
        contained_files(document, app)["./usr/local/bin/server"]["checksums"][1]["checksumValue"]
        == hashlib.sha256(binary).hexdigest()
    )


def test_same_image_same_bytes_and_statement_wraps_the_document(tmp_path):
    root = tmp_path / "root"
    tree(
        root,
        {
            "/app/node_modules/a/package.json": json.dumps(
                {"name": "a", "version": "1.0.0", "license": "Weird License"}
            ),
            "/usr/lib/python3/dist-packages/b-2.egg-info": "Name: b\nVersion: 2\n",
        },
    )
    one = sbom_statement(DirectoryFiles(root), name="app:1", created=CREATED)
    two = sbom_statement(DirectoryFiles(root), name="app:1", created=CREATED)
    assert one.to_bytes() == two.to_bytes()
    assert one.predicate_type == PREDICATE_TYPE == "https://spdx.dev/Document"
    assert one.predicate["creationInfo"]["created"] == "2024-05-06T07:08:09Z"
    (root / "app/node_modules/a/package.json").write_text(json.dumps({"name": "a", "version": "1.0.1"}))
    three = sbom_statement(DirectoryFiles(root), name="app:1", created=CREATED)
    assert three.predicate["documentNamespace"] != one.predicate["documentNamespace"]


def test_empty_image_gives_a_valid_document_of_the_image_alone(tmp_path):
    (tmp_path / "root").mkdir()
    document = valid_sbom(DirectoryFiles(tmp_path / "root"), tmp_path, name="scratch")
    assert [p["name"] for p in document["packages"]] == ["scratch"]


@pytest.mark.root
def test_layers_deleted_in_an_upper_layer_are_not_listed(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    dist = "/usr/lib/python3/dist-packages"
    tree(
        lower,
        {
            f"{dist}/gone-1.egg-info": "Name: gone\nVersion: 1\n",
            f"{dist}/kept-1.egg-info": "Name: kept\nVersion: 1\n",
        },
    )
    tree(upper, {f"{dist}/new-2.egg-info": "Name: new\nVersion: 2\n"})
    make_whiteout(os.fsencode(upper / dist.lstrip("/") / "gone-1.egg-info"))
    document = valid_sbom(LayeredFiles([upper, lower]), tmp_path)
    assert sorted(p["name"] for p in document["packages"][1:]) == ["kept", "new"]


RECORD_PATHS = [
    "/var/lib/dpkg/status",
    "/lib/apk/db/installed",
    "/etc/os-release",
    "/usr/lib/python3/dist-packages/x-1.dist-info/METADATA",
    "/usr/lib/python3/dist-packages/x-1.dist-info/RECORD",
    "/usr/lib/python3/dist-packages/y.egg-info",
    "/node_modules/z/package.json",
]


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(RECORD_PATHS),
            st.one_of(
                st.binary(max_size=300),
                st.text(max_size=200).map(str.encode),
                st.sampled_from(
                    [
                        b"Package: \xff\xfe\nStatus: install ok installed\nVersion: 1\xc3\n",
                        b"P:\xff\nV:1\nF:usr\nR:\xfe\n",
                        b"Name: \xed\xa0\x80\nVersion: 1\nLicense: (MIT\n",
                        b'{"name": "\\ud800", "version": "\\udfff", "license": ["x"]}',
                        b'{"name": "@/", "version": ""}',
                        b"Name: x\nVersion: 1\nLicense-Expression: MIT AND\n",
                    ]
                ),
            ),
        ),
        max_size=4,
    )
)
def test_malformed_records_never_fail_and_still_validate(tmp_path_factory, records):
    """A package database is the image author's input: garbage in it gives fewer packages, never an error or
    an invalid document."""
    base = tmp_path_factory.mktemp("garbage")
    root = base / "root"
    root.mkdir()
    tree(root, dict(records))
    valid_sbom(DirectoryFiles(root), base)
