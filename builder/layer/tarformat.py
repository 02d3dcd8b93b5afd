"""Tar header encoding, written to match what Go's archive/tar produces for BuildKit's layers.

Headers are USTAR blocks with the PAX magic; a PAX extended header (keys sorted) precedes an entry only
when a value does not fit USTAR: a name or link target longer than 100 bytes or not ASCII, an id or size
too large for its octal field, an mtime out of range, and every xattr (``SCHILY.xattr.<name>``). Names
are bytes as they are on disk; nothing is decoded. The archive ends with two zero blocks and no record
padding, as Go writes it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

BLOCK = 512
END_OF_ARCHIVE = b"\0" * (2 * BLOCK)

REGTYPE = b"0"
LNKTYPE = b"1"
SYMTYPE = b"2"
CHRTYPE = b"3"
BLKTYPE = b"4"
DIRTYPE = b"5"
FIFOTYPE = b"6"
XHDTYPE = b"x"

_NAME_SIZE = 100
_MAX_ID = 0o7777777  # 7 octal digits in an 8-byte field
_MAX_SIZE = 0o77777777777  # 11 octal digits in a 12-byte field
_MAX_MTIME = 0o77777777777


@dataclass
class Header:
    """One tar entry's metadata. ``name`` has no leading slash; directories end with ``/``."""

    name: bytes
    type: bytes
    mode: int = 0
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime: int = 0
    linkname: bytes = b""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


def padding(size: int) -> bytes:
    """The zero bytes that follow ``size`` bytes of entry data up to the next block boundary."""
    return b"\0" * (-size % BLOCK)


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _ascii(s: bytes, width: int) -> bytes:
    if s.isascii():  # the common case, without a loop over the bytes
        return s[:width]
    # Go writes the non-ASCII bytes of a name it also puts in the PAX header as nothing at all.
    return bytes(c for c in s if c < 0x80)[:width]


def _pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    size = len(body) + len(str(len(body)))
    if len(str(size)) != len(str(len(body))):  # counting the prefix itself made it one digit longer
        size += 1
    return b"%d" % size + body


_HEADER = struct.Struct("100s8s8s8s12s12s8sc100s8s32s32s8s8s167s")


def _block(name: bytes, h: Header, typeflag: bytes, size: int, mtime: int, uid: int, gid: int) -> bytes:
    # One struct.pack (short fields are zero-padded) instead of slicing a bytearray field by field: this
    # runs once per file, and a layer may hold hundreds of thousands.
    fields = [
        _ascii(name, _NAME_SIZE),
        b"%07o" % (h.mode & 0o7777),
        b"%07o" % uid,
        b"%07o" % gid,
        b"%011o" % size,
        b"%011o" % mtime,
        b" " * 8,  # the checksum counts its own field as spaces
        typeflag,
        _ascii(h.linkname, _NAME_SIZE),
        b"ustar\x0000",
        b"",
        b"",
        b"%07o" % h.devmajor,
        b"%07o" % h.devminor,
        b"",
    ]
    checksum = sum(_HEADER.pack(*fields))
    fields[6] = b"%06o\0 " % checksum
    return _HEADER.pack(*fields)


def encode(h: Header) -> bytes:
    """The header block(s) of ``h``: a PAX extended header when needed, then the USTAR block.

    Entry data (``h.size`` bytes, for regular files) and its padding are the caller's to write after it.
    """
    pax: dict[bytes, bytes] = {}
    if len(h.name) > _NAME_SIZE or not h.name.isascii():
        pax[b"path"] = h.name
    if len(h.linkname) > _NAME_SIZE or not h.linkname.isascii():
        pax[b"linkpath"] = h.linkname
    uid, gid, size, mtime = h.uid, h.gid, h.size, h.mtime
    if not 0 <= uid <= _MAX_ID:
        pax[b"uid"], uid = b"%d" % uid, 0
    if not 0 <= gid <= _MAX_ID:
        pax[b"gid"], gid = b"%d" % gid, 0
    if not 0 <= size <= _MAX_SIZE:
        pax[b"size"], size = b"%d" % size, 0
    if not 0 <= mtime <= _MAX_MTIME:
        pax[b"mtime"], mtime = b"%d" % mtime, 0
    for key, value in h.xattrs.items():
        pax[b"SCHILY.xattr." + key.encode()] = value
    main = _block(h.name, h, h.type, size, mtime, uid, gid)
    if not pax:
        return main
    data = b"".join(_pax_record(k, pax[k]) for k in sorted(pax))
    head, _, tail = h.name.rstrip(b"/").rpartition(b"/")
    pax_name = (head + b"/" if head else b"") + b"PaxHeaders.0/" + tail
    ext = Header(name=pax_name[:_NAME_SIZE].rstrip(b"/"), type=XHDTYPE)
    return _block(ext.name, ext, XHDTYPE, len(data), 0, 0, 0) + data + padding(len(data)) + main
