"""Go build information in ELF binaries, as Go's ``debug/buildinfo`` reads it (no library on PyPI does this
in pure Python, so this is a small parser of the documented format).

Since Go 1.18 the linker writes a ``.go.buildinfo`` section: a 32-byte header — the magic
``\\xff Go buildinf:`` (14 bytes), the pointer size (1 byte), flags (1 byte; bit 1 set: the strings follow
inline), padding — then two strings, each a uvarint length and its bytes: the Go version (``go1.21.5``) and
the module information, wrapped in 16-byte sentinels. Module information is lines of tab-separated fields::

    path    example.com/cmd/app
    mod     example.com/app    v1.2.3    h1:…
    dep     golang.org/x/sys   v0.15.0   h1:…
    =>      ../sys             (devel)              (a replacement of the line above)
    build   -compiler=gc

Only that inline form is read: binaries from Go before 1.18 (whose header points at the strings through
the data segment), binaries without section headers, and non-ELF files give None. Reading is bounded: the
ELF header, the section headers and at most 1 MiB of the section.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

MAGIC = b"\xff Go buildinf:"
_HEADER = 32
_MAX_SECTION = 1 << 20
_MAX_SECTIONS = 4096


@dataclass(frozen=True)
class Module:
    """A module: path and version (``(devel)`` for a main module built from a work tree); ``sum`` may be
    empty."""

    path: str
    version: str
    sum: str = ""


@dataclass(frozen=True)
class BuildInfo:
    """What a Go binary says about its build: the Go version, the main package's path, the main module
    (None when built outside module mode) and the dependencies (replacements applied)."""

    go_version: str
    path: str
    main: Module | None
    deps: tuple[Module, ...]


def _uvarint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while offset < len(data):
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            break
    raise ValueError("bad uvarint")


def parse_modinfo(text: str) -> tuple[str, Module | None, tuple[Module, ...]]:
    """(package path, main module, dependencies) from module information lines (sentinels removed)."""
    path = ""
    main: Module | None = None
    deps: list[Module] = []
    last: str | None = None  # which module a "=>" line replaces
    for line in text.splitlines():
        fields = line.split("\t")
        kind = fields[0]
        if kind == "path" and len(fields) >= 2:
            path = fields[1]
        elif kind in ("mod", "dep") and len(fields) >= 3:
            module = Module(fields[1], fields[2], fields[3] if len(fields) > 3 else "")
            if kind == "mod":
                main = module
            else:
                deps.append(module)
            last = kind
        elif kind == "=>" and len(fields) >= 3 and last is not None:
            replaced = Module(fields[1], fields[2], fields[3] if len(fields) > 3 else "")
            if last == "mod":
                main = replaced
            elif deps:
                deps[-1] = replaced
            last = None
    return path, main, tuple(deps)


def parse_section(data: bytes) -> BuildInfo | None:
    """The build information in the bytes of a ``.go.buildinfo`` section, None for another form."""
    if not data.startswith(MAGIC) or len(data) < _HEADER:
        return None
    flags = data[15]
    if not flags & 2:
        return None  # Go < 1.18: pointers into the data segment
    try:
        length, offset = _uvarint(data, _HEADER)
        version = data[offset : offset + length]
        length, offset = _uvarint(data, offset + length)
        modinfo = data[offset : offset + length]
    except ValueError:
        return None
    # the module information is wrapped in 16-byte sentinels (Go checks the newline before the end one)
    modinfo = modinfo[16:-16] if len(modinfo) >= 33 and modinfo[-17:-16] == b"\n" else b""
    path, main, deps = parse_modinfo(modinfo.decode("utf-8", "replace"))
    return BuildInfo(version.decode("utf-8", "replace"), path, main, deps)


def _section(handle: BinaryIO, name: bytes) -> bytes | None:
    """The first ``_MAX_SECTION`` bytes of ELF section ``name`` of the file, None when it has none."""
    ident = handle.read(64)
    if len(ident) < 52 or not ident.startswith(b"\x7fELF") or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        return None
    endian = "<" if ident[5] == 1 else ">"
    if ident[4] == 2:
        shoff = struct.unpack_from(endian + "Q", ident, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", ident, 0x3A)
        entry = endian + "IIQQQQIIQQ"
    else:
        shoff = struct.unpack_from(endian + "I", ident, 0x20)[0]
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", ident, 0x2E)
        entry = endian + "IIIIIIIIII"
    if (
        not shoff
        or not shnum
        or shnum > _MAX_SECTIONS
        or shentsize < struct.calcsize(entry)
        or shstrndx >= shnum
    ):
        return None
    handle.seek(shoff)
    table = handle.read(shentsize * shnum)
    if len(table) < shentsize * shnum:
        return None
    headers = [struct.unpack_from(entry, table, i * shentsize) for i in range(shnum)]
    # fields: name, type, flags, addr, offset, size, …
    strtab = headers[shstrndx]
    handle.seek(strtab[4])
    names = handle.read(min(strtab[5], _MAX_SECTION))
    for header in headers:
        start = header[0]
        if names[start : start + len(name) + 1] == name + b"\x00":
            handle.seek(header[4])
            return handle.read(min(header[5], _MAX_SECTION))
    return None


def read_buildinfo(handle: BinaryIO) -> BuildInfo | None:
    """The Go build information of the ELF binary open in ``handle`` (seekable), or None."""
    try:
        data = _section(handle, b".go.buildinfo")
    except (OSError, OverflowError, ValueError, struct.error):  # offsets in a corrupt file can be anything
        return None
    return parse_section(data) if data else None
