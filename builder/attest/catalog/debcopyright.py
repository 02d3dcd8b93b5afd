"""The licenses a Debian package declares: the ``License:`` fields of its machine-readable copyright file
(``/usr/share/doc/NAME/copyright``, DEP-5).

DEP-5 short names differ from SPDX ids (``GPL-2+``, ``Expat``, ``BSD-3-clause``); each is mapped to its SPDX
id (`spdx_name`), ``or``/``and`` become ``OR``/``AND``. A field that does not make a valid SPDX expression
(``public-domain``, a project's own name) is left out rather than guessed. The package's declaration is the
``AND`` of its distinct fields: its files are under all of them. A file that is not DEP-5, or that the
image no longer has (slim images often drop ``/usr/share/doc``), declares nothing.
"""

from __future__ import annotations

import posixpath
import re

from builder.attest.catalog import text
from builder.attest.files import ImageFiles, read_bytes
from builder.attest.licenses import spdx_expression

DOC = "/usr/share/doc"
_FORMAT = re.compile(rb"^Format:\s*\S*(dep5|copyright-format)", re.I | re.M)
_LICENSE = re.compile(r"^License:[ \t]*(\S[^\n]*)$", re.M)
_VERSIONED = re.compile(r"^(A?GPL|LGPL|GFDL)-?(\d)(?:\.(\d))?(\+)?$", re.I)
_RENAMED = {
    "expat": "MIT",
    "openldap-2.8": "OLDAP-2.8",
    "zope-2.1": "ZPL-2.1",
    "psf-2": "PSF-2.0",
    "python-2.0": "Python-2.0",
    "mpl-1.1": "MPL-1.1",
    "mpl-2.0": "MPL-2.0",
}


def spdx_name(short: str) -> str:
    """A DEP-5 short license name as its SPDX id: ``GPL-2+`` → ``GPL-2.0-or-later``, ``LGPL-2.1`` →
    ``LGPL-2.1-only``, ``Expat`` → ``MIT``; other names unchanged."""
    match = _VERSIONED.match(short)
    if match:
        family, major, minor, plus = match.groups()
        return f"{family.upper()}-{major}.{minor or '0'}-{'or-later' if plus else 'only'}"
    return _RENAMED.get(short.lower(), short)


def _expression(field: str) -> str | None:
    words = field.replace(",", " ").split()
    mapped = []
    for word in words:
        lower = word.lower()
        mapped.append(lower.upper() if lower in ("or", "and", "with") else spdx_name(word))
    expression, extracted = spdx_expression(" ".join(mapped))
    return None if extracted is not None else expression


def declared_license(files: ImageFiles, package: str) -> str | None:
    """The SPDX expression of what package ``package``'s copyright file declares, or None."""
    data = read_bytes(files, posixpath.join(DOC, package, "copyright"), limit=1 << 20)
    if data is None or not _FORMAT.search(data):
        return None
    found = []
    for field in _LICENSE.findall(text(data.decode("utf-8", "replace"))):
        expression = _expression(field.strip())
        if expression is not None and expression not in found:
            found.append(expression)
    if not found:
        return None
    return " AND ".join(f"({e})" if " " in e else e for e in sorted(found))
