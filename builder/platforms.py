"""Platforms (``os/arch[/variant]``) the way containerd's ``platforms`` package parses and normalises them.

One `Platform` type serves the whole builder: the plan (``FROM --platform``, TARGET*/BUILD* args), image
configs and indexes (``matches``), ``import --platform`` and ``load --platform``.

BuildKit parses ``FROM --platform=…`` and ``--platform`` with that package, so ``linux/x86_64`` means
``linux/amd64``, ``arm64/v8`` means ``linux/arm64``, and a lone architecture takes the host's OS. Only the
parts pybuild needs are here: parse, normalise, format, and the host platform.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from builder.errors import PlanError

_KNOWN_OS = frozenset(
    {
        "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
        "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
    }
)  # fmt: skip
_KNOWN_ARCH = frozenset(
    {
        "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle", "mips64",
        "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x",
        "sparc", "sparc64", "wasm",
    }
)  # fmt: skip
_PART = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class Platform:
    """A normalised platform; ``variant`` is ``""`` when there is none (None only in a pattern that accepts
    any variant, see `matches`); ``str()`` is ``os/arch[/variant]``."""

    os: str
    architecture: str
    variant: str | None = ""

    def __str__(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)

    @classmethod
    def host(cls) -> Platform:
        """The platform this process runs on (always ``linux``: pybuild builds Linux images)."""
        # os.uname() is what platform.machine() reads on Linux, without importing the platform module
        arch, variant = _normalize_arch(os.uname().machine.lower(), "")
        return cls("linux", arch, variant)

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os``, ``arch``, ``os/arch`` or ``os/arch/variant``; raises a spanless `PlanError` if invalid.

        A single part is an OS if it names one, else an architecture on the host's OS, as containerd does.
        """
        parts = text.strip().lower().split("/")
        if not text.strip() or len(parts) > 3 or not all(_PART.match(p) for p in parts):
            raise PlanError(f"failed to parse platform {text!r}: expected os/arch[/variant]")
        if len(parts) == 1:
            if parts[0] in _KNOWN_OS:
                host = cls.host()
                same = parts[0] == host.os
                return cls(parts[0], host.architecture if same else "", host.variant if same else "")
            arch, variant = _normalize_arch(parts[0], "")
            if arch not in _KNOWN_ARCH:
                raise PlanError(f"failed to parse platform {text!r}: unknown operating system or architecture")
            return cls(cls.host().os, arch, variant)
        os_name = "darwin" if parts[0] == "macos" else parts[0]
        if os_name not in _KNOWN_OS:
            raise PlanError(f"failed to parse platform {text!r}: unknown operating system {parts[0]!r}")
        arch, variant = _normalize_arch(parts[1], parts[2] if len(parts) == 3 else "")
        if arch not in _KNOWN_ARCH:
            raise PlanError(f"failed to parse platform {text!r}: unknown architecture {parts[1]!r}")
        return cls(os_name, arch, variant)

    @classmethod
    def from_document(cls, described: dict) -> Platform:
        """The platform an OCI ``platform`` object or an image config states, normalised but not validated
        (a document may name anything)."""
        arch, variant = _normalize_arch(described.get("architecture") or "", described.get("variant") or "")
        return cls(described.get("os") or "", arch, variant)

    def build_args(self, prefix: str) -> dict[str, str]:
        """``{PREFIXPLATFORM, PREFIXOS, PREFIXARCH, PREFIXVARIANT}`` for ``prefix`` ``BUILD`` or ``TARGET``."""
        return {
            f"{prefix}PLATFORM": str(self),
            f"{prefix}OS": self.os,
            f"{prefix}ARCH": self.architecture,
            f"{prefix}VARIANT": self.variant,
        }

    def matches(self, described: dict) -> bool:
        """True if an OCI ``platform`` object (or an image config) describes this platform; a variant the
        document leaves out matches only when this platform has none or its architecture's default. A
        platform made with ``variant=None`` accepts any variant of its architecture."""
        arch, variant = _normalize_arch(described.get("architecture") or "", described.get("variant") or "")
        if described.get("os") != self.os or arch != self.architecture:
            return False
        return self.variant is None or variant == self.variant

    def descriptor_platform(self) -> dict[str, str]:
        """The OCI ``platform`` object of an index entry: ``architecture``, ``os`` and, if any, ``variant``."""
        doc = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            doc["variant"] = self.variant
        return doc

    @property
    def slug(self) -> str:
        """``os_arch[_variant]``: the per-platform directory name BuildKit's local exporter uses."""
        return str(self).replace("/", "_")


def parse_platforms(text: str) -> list[Platform]:
    """A ``--platform`` value: one or more comma-separated platforms, normalised, duplicates dropped (first
    kept), in the order given. Raises a spanless `PlanError` for an empty list or an invalid platform."""
    found: list[Platform] = []
    for part in text.split(","):
        if not part.strip():
            raise PlanError(f"failed to parse platform {text!r}: empty platform in the list")
        platform = Platform.parse(part)
        if platform not in found:
            found.append(platform)
    return found


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd's architecture normalisation: aliases to Go names, default and redundant variants dropped."""
    if arch in ("i386", "i486", "i586", "i686"):
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant in ("", "v1") else variant
    if arch in ("aarch64", "arm64"):
        return "arm64", "" if variant in ("", "8", "v8", "v8.0") else variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch.startswith("armv") and arch[4:].rstrip("l").isdigit():
        return "arm", "v" + arch[4:].rstrip("l")
    if arch == "arm":
        return "arm", {"": "v7", "5": "v5", "6": "v6", "7": "v7", "8": "v8"}.get(variant, variant)
    return arch, variant
