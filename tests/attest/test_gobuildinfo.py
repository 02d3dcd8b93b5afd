"""Go build information: a real Go binary on this machine (runc, a Debian build: no module lines), and ELF
files built here from Go's documented format (no Go toolchain is installed to build a module-mode binary)."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.attest.catalog.gobuildinfo import MAGIC, Module, parse_modinfo, read_buildinfo

START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
END = bytes.fromhex("f932433186182072008242104116d8f2")


def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def buildinfo_section(version: str, modinfo: str, *, flags: int = 2) -> bytes:
    header = MAGIC + bytes([8, flags]) + bytes(16)
    wrapped = START + modinfo.encode() + END if modinfo else b""
    return header + uvarint(len(version)) + version.encode() + uvarint(len(wrapped)) + wrapped


def elf(sections: dict[str, bytes], *, bits: int = 64, little: bool = True) -> bytes:
    """A minimal ELF file: header, the given sections, a section-name table and the section headers."""
    e = "<" if little else ">"
    names = b"\x00"
    offsets = {}
    for name in [*sections, ".shstrtab"]:
        offsets[name] = len(names)
        names += name.encode() + b"\x00"
    header_size = 64 if bits == 64 else 52
    body = b""
    placed = []
    for name, data in [*sections.items(), (".shstrtab", names)]:
        placed.append((name, header_size + len(body), len(data)))
        body += data
    shoff = header_size + len(body)
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1 if little else 2, 1]) + bytes(9)
    count = len(placed) + 1
    if bits == 64:
        head = ident + struct.pack(
            e + "HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, 64, 56, 0, 64, count, count - 1
        )
        null = bytes(64)
        table = b"".join(
            struct.pack(e + "IIQQQQIIQQ", offsets[n], 1, 0, 0, off, size, 0, 0, 1, 0) for n, off, size in placed
        )
    else:
        head = ident + struct.pack(
            e + "HHIIIIIHHHHHH", 2, 3, 1, 0, 0, shoff, 0, 52, 32, 0, 40, count, count - 1
        )
        null = bytes(40)
        table = b"".join(
            struct.pack(e + "IIIIIIIIII", offsets[n], 1, 0, 0, off, size, 0, 0, 1, 0) for n, off, size in placed
        )
    assert len(head) == header_size
    return head + body + null + table


MODINFO = "\n".join(
    [
        "path\texample.com/app/cmd/server",
        "mod\texample.com/app\tv1.4.2\th1:abc=",
        "dep\tgolang.org/x/sys\tv0.15.0\th1:def=",
        "dep\tgithub.com/old/lib\tv1.0.0\th1:ghi=",
        "=>\tgithub.com/new/lib\tv1.1.0\th1:jkl=",
        "build\t-compiler=gc",
        "build\tGOARCH=amd64",
        "",
    ]
)


@pytest.mark.parametrize(("bits", "little"), [(64, True), (32, True), (64, False)])
def test_module_mode_binary(bits, little):
    data = elf(
        {".text": b"\x90" * 64, ".go.buildinfo": buildinfo_section("go1.21.5", MODINFO)},
        bits=bits,
        little=little,
    )
    info = read_buildinfo(io.BytesIO(data))
    assert info is not None
    assert info.go_version == "go1.21.5"
    assert info.path == "example.com/app/cmd/server"
    assert info.main == Module("example.com/app", "v1.4.2", "h1:abc=")
    assert info.deps == (
        Module("golang.org/x/sys", "v0.15.0", "h1:def="),
        Module("github.com/new/lib", "v1.1.0", "h1:jkl="),  # the replacement, not the replaced
    )


def test_not_go_or_old_format_gives_none():
    assert read_buildinfo(io.BytesIO(elf({".text": b"\x00" * 32}))) is None
    old = buildinfo_section("go1.16", MODINFO, flags=0)  # Go < 1.18 points into the data segment
    assert read_buildinfo(io.BytesIO(elf({".go.buildinfo": old}))) is None
    assert read_buildinfo(io.BytesIO(b"#!/bin/sh\necho hi\n")) is None
    assert read_buildinfo(io.BytesIO(elf({".go.buildinfo": MAGIC + b"\x08\x02"}))) is None  # truncated


def test_main_module_replaced():
    path, main, deps = parse_modinfo("path\tx/cmd\nmod\tx\t(devel)\t\n=>\t../x\t(devel)\t\n")
    assert (path, main, deps) == ("x/cmd", Module("../x", "(devel)", ""), ())


def test_a_real_go_binary_on_this_machine():
    runc = shutil.which("runc") or "/usr/sbin/runc"
    with open(runc, "rb") as handle:
        info = read_buildinfo(handle)
    assert info is not None
    reported = subprocess.run([runc, "--version"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^go: (\S+)$", reported, re.M).group(1) == info.go_version
    assert info.path == "github.com/opencontainers/runc"


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=8))
def test_corrupted_binaries_give_none_or_info_never_an_error(flips):
    """An executable in an image is untrusted input: any bytes give build info or None."""
    data = bytearray(elf({".go.buildinfo": buildinfo_section("go1.21.5", MODINFO)}))
    for position, value in flips:
        data[position % len(data)] = value
    info = read_buildinfo(io.BytesIO(bytes(data)))
    assert info is None or isinstance(info.go_version, str)
