"""A layer tar → a directory: as an overlay-form layer of its own, or flattened onto a root filesystem."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tarfile
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from builder.faults import checkpoint
from builder.layer.compress import open_decompressed
from builder.layer.devices import device_refusal
from builder.layer.entries import Applier
from builder.layer.errors import LayerError
from builder.layer.form import LayerForm
from builder.layer.paths import Target, clean_name
from builder.layer.whiteouts import (
    META_PREFIX,
    OPAQUE_MARKER,
    WHITEOUT_PREFIX,
    is_overlay_xattr,
)

MODES = ("overlay", "flatten")
_CHUNK = 1 << 20
_XATTR_PAX = "SCHILY.xattr."


def apply_layer(
    stream: BinaryIO, dest: Path, *, form: LayerForm, mode: str = "overlay", name: str | None = None
) -> str:
    """Unpack the layer tar read from ``stream`` (gzip, zstd or plain, by magic) into ``dest``; return its
    diff_id, the sha256 of the whole uncompressed stream.

    ``mode="overlay"``: ``dest`` is empty and becomes the layer in overlay form (``.wh.x`` → a 0/0 character
    device ``x``, ``.wh..wh..opq`` → ``trusted.overlay.opaque=y`` on its directory). ``mode="flatten"``:
    ``dest`` is a root filesystem and the layer lands on top of it (whiteouts delete, an opaque marker
    empties its directory). Either way whiteouts and opaque markers act wherever they stand in the tar and
    hide only lower content, never this layer's own entries. Any entry that would land outside ``dest``
    (absolute, ``..``, through a symlink, a hard link to outside), a block or character device other than
    the standard ones (`builder.layer.devices`), and a malformed tar raise LayerError; ``dest`` is then
    left half-written for the caller to discard. ``name`` (the layer's digest, say) is how such errors
    call the layer: ``layer NAME: entry 'dev/sda': block device 8:0 refused: …``. ``stream`` is read to its
    end and not closed. ``form`` (`builder.layer.form`) is what the host allows: the opaque mark's xattr, and
    whether device nodes that cannot be made are skipped.
    """
    if mode not in MODES:
        raise LayerError(f"unknown apply mode {mode!r} (expected one of {', '.join(MODES)})")
    try:
        return _apply(stream, dest, flatten=mode == "flatten", form=form)
    except LayerError as e:
        if name is None:
            raise
        raise _named(e, name) from e


def _named(error: LayerError, name: str) -> LayerError:
    """``error`` with the layer's name in front: "layer entry 'x' …" becomes "layer NAME: entry 'x' …"."""
    message = error.message
    message = message[len("layer ") :] if message.startswith("layer ") else message
    return LayerError(f"layer {name}: {message}", hint=error.hint)


def _apply(stream: BinaryIO, dest: Path, *, flatten: bool, form: LayerForm) -> str:
    with open_decompressed(stream) as plain:
        hashed = _HashingReader(plain)
        applier = Applier(Target(os.fsencode(dest)), flatten=flatten, form=form)
        try:
            tar = tarfile.open(fileobj=hashed, mode="r|", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
            while (member := tar.next()) is not None:
                tar.members.clear()  # stream mode keeps every member it has read; we need none of them
                checkpoint("apply.entry")
                try:
                    _apply_member(applier, tar, member)
                except OSError as e:
                    reason = e.strerror or e
                    raise LayerError(f"cannot apply layer entry {_shown(member.name)}: {reason}") from e
        except tarfile.TarError as e:
            raise LayerError(f"malformed layer tar: {e}") from e
        try:
            applier.finish()
        except OSError as e:
            raise LayerError(f"cannot set directory times: {e}") from e
        while hashed.read(_CHUNK):  # the diff_id covers everything after the end-of-archive blocks too
            pass
    return hashed.digest


def _apply_member(applier: Applier, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
    raw_name = m.name.encode("utf-8", "surrogateescape")
    rel = clean_name(raw_name)
    if not rel:
        return  # the root itself ("./"): the target's own metadata is the caller's
    parent, _, base = rel.rpartition(b"/")
    if base.startswith(WHITEOUT_PREFIX):
        if base == OPAQUE_MARKER:
            applier.opaque(parent)
        elif not base.startswith(META_PREFIX):
            hidden = base[len(WHITEOUT_PREFIX) :]
            if hidden in (b"", b".", b".."):
                raise LayerError(f"layer entry {os.fsdecode(raw_name)!r} is not a valid whiteout")
            applier.whiteout(parent + b"/" + hidden if parent else hidden)
        return
    meta = _meta(m)
    if m.isreg():
        fileobj = tar.extractfile(m)
        applier.file(rel, meta, fileobj, m.size)
    elif m.isdir():
        applier.directory(rel, meta)
    elif m.issym():
        applier.symlink(rel, meta, m.linkname.encode("utf-8", "surrogateescape"))
    elif m.islnk():
        applier.hardlink(rel, clean_name(m.linkname.encode("utf-8", "surrogateescape"), "hard link target"))
    elif m.ischr() or m.isblk() or m.isfifo():
        kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
        refused = device_refusal(kind, m.devmajor, m.devminor)
        if refused is not None:  # checked before anything is made: no device node ever exists in dest
            raise LayerError(f"layer entry {_shown(m.name)}: {refused}")
        applier.node(rel, meta, kind, os.makedev(m.devmajor, m.devminor) if kind != stat.S_IFIFO else 0)
    else:
        raise LayerError(f"layer entry {m.name!r} has an unsupported tar type {m.type!r}")


def _shown(name: str, limit: int = 200) -> str:
    """``name`` quoted for a message, shortened: a hostile layer may carry names of megabytes."""
    return repr(name) if len(name) <= limit else f"{name[:limit]!r}... ({len(name)} characters)"


#: A PAX time as Go's archive/tar accepts it (seconds, an optional fraction): no exponent, nan or inf.
_PAX_TIME = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
#: File times the kernel takes: nanoseconds in a signed 64-bit integer.
_MAX_NS = (1 << 63) - 1
#: Owner ids a file can have: 32 bits, (uid_t)-1 meaning "no change" to chown.
_MAX_ID = (1 << 32) - 2


def _meta(m: tarfile.TarInfo) -> dict:
    """The metadata of entry ``m``; refuses times and ids no file can have (as Go's archive/tar does)."""
    mtime = m.pax_headers.get("mtime")
    if mtime is not None and (len(mtime) > 40 or not _PAX_TIME.match(mtime)):
        raise LayerError(f"layer entry {_shown(m.name)} has an invalid PAX mtime {mtime[:40]!r}")
    mtime_ns = int(Decimal(mtime) * 1_000_000_000) if mtime is not None else int(m.mtime) * 1_000_000_000
    if abs(mtime_ns) > _MAX_NS:
        raise LayerError(f"layer entry {_shown(m.name)} has an out-of-range mtime {str(mtime or m.mtime)[:40]}")
    for what, value in (("uid", m.uid), ("gid", m.gid)):
        if not isinstance(value, int) or not 0 <= value <= _MAX_ID:
            raise LayerError(f"layer entry {_shown(m.name)} has an out-of-range {what} {str(value)[:40]}")
    xattrs = {
        k[len(_XATTR_PAX) :]: v.encode("utf-8", "surrogateescape")
        for k, v in m.pax_headers.items()
        if k.startswith(_XATTR_PAX) and not is_overlay_xattr(k[len(_XATTR_PAX) :])
    }
    return {"mode": m.mode & 0o7777, "uid": m.uid, "gid": m.gid, "mtime_ns": mtime_ns, "xattrs": xattrs}


class _HashingReader(io.RawIOBase):
    def __init__(self, inner: BinaryIO) -> None:
        super().__init__()
        self._inner = inner
        self._hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        self._hash.update(data)
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()
