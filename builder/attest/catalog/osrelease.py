"""``/etc/os-release`` (or ``/usr/lib/os-release``): which distribution an image is, for package URLs."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from builder.attest.files import ImageFiles, read_bytes


@dataclass(frozen=True)
class OsRelease:
    """``ID``, ``VERSION_ID`` and ``VERSION_CODENAME`` (empty when absent)."""

    id: str = ""
    version_id: str = ""
    codename: str = ""

    @property
    def distro(self) -> str | None:
        """The purl ``distro`` qualifier: ``debian-12``, ``alpine-3.19.1`` (the codename where the release has
        no version number, as Debian testing), None when the image names no distribution."""
        version = self.version_id or self.codename
        return f"{self.id}-{version}" if self.id and version else None


def parse_os_release(text: str) -> OsRelease:
    """The fields of an os-release file (shell-style assignments; quoting as the format allows)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, eq, value = line.strip().partition("=")
        if not eq or key.startswith("#"):
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        values[key] = words[0] if words else ""
    return OsRelease(
        values.get("ID", "").lower(), values.get("VERSION_ID", ""), values.get("VERSION_CODENAME", "")
    )


def read_os_release(files: ImageFiles) -> OsRelease:
    """The image's os-release; an empty `OsRelease` when it has none."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        data = read_bytes(files, path, limit=64 << 10)
        if data is not None:
            return parse_os_release(data.decode("utf-8", "replace"))
    return OsRelease()
