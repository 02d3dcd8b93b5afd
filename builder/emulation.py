"""Which architectures this host can execute, and the check that a build's RUN steps can run at all.

A RUN step for a foreign architecture runs the image's own binaries; the kernel hands them to an emulator
through a binfmt_misc handler (``/proc/sys/fs/binfmt_misc/<name>``). Inside a container the emulator's path
does not exist, so only a handler registered with the F ("fix binary") flag works: the kernel opened the
interpreter when the handler was registered. Debian's ``qemu-user-static`` registers its handlers that way.

A handler is matched to an architecture the way the kernel would: its magic and mask are compared with the
ELF header of an executable for that architecture (class, byte order, ``e_machine``), whatever the handler is
called. The host runs its own architecture natively, and an amd64 kernel runs 386 executables.

``PYBUILD_BINFMT_DIR`` names another directory where binfmt_misc is mounted (default
``/proc/sys/fs/binfmt_misc``).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuildError, Span
from builder.platforms import Platform

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
BINFMT_ENV = "PYBUILD_BINFMT_DIR"
PACKAGE = "qemu-user-static"

# architecture -> (ELF class: 1 = 32-bit, 2 = 64-bit; byte order: 1 = little, 2 = big; e_machine)
_ELF = {
    "386": (1, 1, 3),
    "amd64": (2, 1, 62),
    "arm": (1, 1, 40),
    "arm64": (2, 1, 183),
    "loong64": (2, 1, 258),
    "mips": (1, 2, 8),
    "mipsle": (1, 1, 8),
    "mips64": (2, 2, 8),
    "mips64le": (2, 1, 8),
    "ppc64": (2, 2, 21),
    "ppc64le": (2, 1, 21),
    "riscv64": (2, 1, 243),
    "s390x": (2, 2, 22),
}
# what a kernel of the key's architecture executes without help
_NATIVE = {"amd64": ("386",)}


class EmulationError(BuildError):
    """A build needs to run executables of an architecture this host cannot execute."""


@dataclass(frozen=True)
class Handler:
    """One binfmt_misc registration: its name, interpreter, flags, magic/mask bytes, offset and whether it is
    enabled. Only magic handlers (``M``) are read; extension handlers cannot match an ELF executable."""

    name: str
    interpreter: str
    flags: str
    magic: bytes
    mask: bytes
    offset: int
    enabled: bool

    @property
    def fixed(self) -> bool:
        """True when registered with F: usable inside a container, whose root lacks the interpreter."""
        return "F" in self.flags

    def recognises(self, header: bytes) -> bool:
        """True if the kernel would hand an executable starting with ``header`` to this handler."""
        window = header[self.offset : self.offset + len(self.magic)]
        if len(window) < len(self.magic):
            return False
        mask = self.mask or b"\xff" * len(self.magic)
        return all((h & m) == (g & m) for h, m, g in zip(window, mask, self.magic, strict=False))


def binfmt_dir() -> Path:
    """Where binfmt_misc is mounted: ``$PYBUILD_BINFMT_DIR`` or ``/proc/sys/fs/binfmt_misc``."""
    return Path(os.environ.get(BINFMT_ENV) or BINFMT_DIR)


def read_handlers(root: Path | None = None) -> list[Handler]:
    """The magic handlers registered under ``root`` (default `binfmt_dir`; empty if nothing is mounted)."""
    root = root or binfmt_dir()
    handlers = []
    try:
        entries = sorted(p for p in root.iterdir() if p.name not in ("register", "status"))
    except OSError:
        return []
    for path in entries:
        try:
            fields = _fields(path.read_text())
        except (OSError, UnicodeDecodeError):
            continue
        if "magic" not in fields:
            continue
        handlers.append(
            Handler(
                name=path.name,
                interpreter=fields.get("interpreter", ""),
                flags=fields.get("flags", ""),
                magic=bytes.fromhex(fields["magic"]),
                mask=bytes.fromhex(fields.get("mask", "")),
                offset=int(fields.get("offset", "0")),
                enabled=fields.get("_state") == "enabled",
            )
        )
    return handlers


def _fields(text: str) -> dict[str, str]:
    """``/proc/sys/fs/binfmt_misc/<name>``: a first line ``enabled``/``disabled``, then ``key value`` lines
    (``flags: POF`` has a colon)."""
    lines = text.splitlines()
    fields = {"_state": lines[0].strip() if lines else ""}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        fields[key.rstrip(":")] = value.strip()
    return fields


def elf_header(architecture: str) -> bytes | None:
    """The first 20 bytes of an ELF executable for ``architecture`` (a Go name), None if unknown."""
    if architecture not in _ELF:
        return None
    elf_class, order, machine = _ELF[architecture]
    ident = b"\x7fELF" + bytes([elf_class, order, 1]) + b"\x00" * 9
    return ident + struct.pack("<HH" if order == 1 else ">HH", 2, machine)  # e_type 2: ET_EXEC


def runs_natively(platform: Platform, host: Platform | None = None) -> bool:
    """True when the host kernel executes ``platform``'s Linux binaries itself."""
    host = host or Platform.host()
    if platform.os != "linux":
        return False
    if platform.architecture == host.architecture:
        return True
    return platform.architecture in _NATIVE.get(host.architecture, ())


def handler_for(platform: Platform, handlers: list[Handler] | None = None) -> Handler | None:
    """The enabled handler that would run ``platform``'s executables (the F-flagged one when several
    match), or None."""
    header = elf_header(platform.architecture)
    if header is None:
        return None
    found = [
        h for h in (read_handlers() if handlers is None else handlers) if h.enabled and h.recognises(header)
    ]
    found.sort(key=lambda h: not h.fixed)
    return found[0] if found else None


def can_run(platform: Platform, *, host: Platform | None = None, handlers: list[Handler] | None = None) -> bool:
    """True when RUN steps for ``platform`` can execute here: natively or through an F-flagged handler."""
    if runs_natively(platform, host):
        return True
    handler = handler_for(platform, handlers)
    return handler is not None and handler.fixed


def require(
    platform: Platform,
    span: Span | None = None,
    *,
    host: Platform | None = None,
    handlers: list[Handler] | None = None,
    root: Path | None = None,
) -> None:
    """Raise `EmulationError` (at ``span``, the step that needs it) unless ``platform`` can run here."""
    host = host or Platform.host()
    root = root or binfmt_dir()
    if runs_natively(platform, host):
        return
    if platform.os != "linux":
        raise EmulationError(f"cannot run steps for {platform}: pybuild runs Linux containers only", span)
    if handlers is None:
        handlers = read_handlers(root)
    handler = handler_for(platform, handlers)
    if handler is not None and handler.fixed:
        return
    if handler is not None:
        raise EmulationError(
            f"cannot run steps for {platform} on this {host} host: the binfmt_misc handler {handler.name!r} "
            "lacks the F (fix binary) flag, so its emulator cannot run inside a container",
            span,
            hint=f"re-register it with the F flag, as Debian's {PACKAGE} package does",
        )
    where = "" if (root / "register").exists() else f" (binfmt_misc is not mounted at {root})"
    raise EmulationError(
        f"cannot run steps for {platform} on this {host} host: no binfmt_misc handler runs "
        f"{platform.architecture} executables{where}",
        span,
        hint=f"install an emulator: apt-get install {PACKAGE}",
    )
