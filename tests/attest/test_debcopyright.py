"""Debian copyright files (DEP-5) → SPDX license expressions."""

from __future__ import annotations

import pytest

from builder.attest.catalog.debcopyright import declared_license, spdx_name
from builder.attest.files import DirectoryFiles


@pytest.mark.parametrize(
    ("short", "spdx"),
    [
        ("GPL-2+", "GPL-2.0-or-later"),
        ("GPL-2", "GPL-2.0-only"),
        ("LGPL-2.1+", "LGPL-2.1-or-later"),
        ("lgpl-3", "LGPL-3.0-only"),
        ("AGPL-3+", "AGPL-3.0-or-later"),
        ("GFDL-1.3+", "GFDL-1.3-or-later"),
        ("Expat", "MIT"),
        ("OpenLDAP-2.8", "OLDAP-2.8"),
        ("BSD-3-clause", "BSD-3-clause"),  # license-expression fixes the case
        ("public-domain", "public-domain"),
    ],
)
def test_dep5_short_names(short, spdx):
    assert spdx_name(short) == spdx


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: thing

Files: *
Copyright: 2020 Someone
License: GPL-2+

Files: lib/*
Copyright: 2020 Someone Else
License: LGPL-2.1+ or Expat

Files: doc/*
License: public-domain

Files: debian/*
License: GPL-2+

License: GPL-2+
 This program is free software ...
"""


def test_a_package_declares_the_and_of_its_distinct_licenses(tmp_path):
    (tmp_path / "usr/share/doc/thing").mkdir(parents=True)
    (tmp_path / "usr/share/doc/thing/copyright").write_text(COPYRIGHT)
    (tmp_path / "usr/share/doc/old").mkdir(parents=True)
    (tmp_path / "usr/share/doc/old/copyright").write_text("This is thing, written by me.\nLicense: GPL\n")
    files = DirectoryFiles(tmp_path)
    assert declared_license(files, "thing") == "GPL-2.0-or-later AND (LGPL-2.1-or-later OR MIT)"
    assert declared_license(files, "old") is None  # not machine-readable: nothing is guessed
    assert declared_license(files, "absent") is None
