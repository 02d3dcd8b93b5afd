"""Helpers for the layer tests: build trees from specs, list trees canonically, craft layer tars."""

from __future__ import annotations

import hashlib
import io
import os
import random
import socket
import stat
import tarfile
from pathlib import Path

from builder.layer import open_compressed_writer

#: A valid v2 file capability: cap_net_raw in the permitted and effective sets.
CAP_NET_RAW = bytes.fromhex("0100000200200000000000000000000000000000")


def listing(root: Path | str, *, dir_mtimes: bool = True) -> dict[bytes, tuple]:
    """Every path under ``root`` (not ``root`` itself) → what a user can observe about it: type, mode,
    owner, size, content hash, link target, device numbers, xattrs, mtime in seconds, and its hard-link
    group (the sorted paths sharing its inode)."""
    root_b = os.fsencode(root)
    rows: dict[bytes, tuple] = {}
    inodes: dict[tuple[int, int], list[bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root_b):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root_b)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            content = link = rdev = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    content = hashlib.sha256(f.read()).hexdigest()
                inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                link = os.readlink(path)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                rdev = (os.major(st.st_rdev), os.minor(st.st_rdev))
            names = os.listxattr(path, follow_symlinks=False)
            xattrs = tuple(sorted((n, os.getxattr(path, n, follow_symlinks=False)) for n in names))
            mtime = st.st_mtime_ns // 1_000_000_000
            if stat.S_ISDIR(st.st_mode) and not dir_mtimes:
                mtime = None
            mode = stat.S_IMODE(st.st_mode)
            rows[rel] = (kind, mode, st.st_uid, st.st_gid, content, link, rdev, xattrs, mtime)
    for group in inodes.values():
        if len(group) > 1:
            for rel in group:
                rows[rel] += (tuple(sorted(group)),)
    return rows


def set_meta(path: Path, node: dict) -> None:
    """Owner, mode, xattrs and mtime of ``node`` on ``path`` (in that order: chown clears setuid and caps)."""
    kind = node["kind"]
    os.chown(path, node.get("uid", 0), node.get("gid", 0), follow_symlinks=False)
    if kind != "symlink":
        os.chmod(path, node.get("mode", 0o644))
    for name, value in node.get("xattrs", {}).items():
        os.setxattr(path, name, value, follow_symlinks=False)
    mtime = node.get("mtime", 1_600_000_000)
    os.utime(path, ns=(mtime * 10**9, mtime * 10**9), follow_symlinks=False)


def build(root: Path, children: dict[str, dict]) -> list[Path]:
    """Create ``children`` (name → node) under ``root``; returns the regular files made. A node is a dict
    with ``kind`` (file, dir, symlink, fifo, chr, blk, socket) and optional content (or size), target, rdev,
    children, mode, uid, gid, mtime, xattrs."""
    files: list[Path] = []
    for name, node in children.items():
        path = root / name
        kind = node["kind"]
        if kind == "file":
            size = node.get("size")  # a large incompressible file, without a large spec to print
            path.write_bytes(random.Random(size).randbytes(size) if size else node.get("content", b""))
            files.append(path)
        elif kind == "dir":
            path.mkdir()
            files += build(path, node.get("children", {}))
        elif kind == "symlink":
            os.symlink(node["target"], path)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind in ("chr", "blk"):
            major, minor = node["rdev"]
            os.mknod(path, (stat.S_IFCHR if kind == "chr" else stat.S_IFBLK) | 0o600, os.makedev(major, minor))
        elif kind == "socket":
            with socket.socket(socket.AF_UNIX) as s:
                s.bind(os.fsencode(path))
            continue
        set_meta(path, node)
    return files


def make_tar(entries: list[tuple], compression: str = "none") -> bytes:
    """A layer tar from ``entries``: (name, type, extra) with type "file" (extra = content), "dir", "symlink"
    and "link" (extra = target). Names are written exactly as given, however hostile."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, *extra in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            data = None
            if kind == "file":
                data = extra[0] if extra else b""
                info.size = len(data)
                info.mode = 0o644
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, extra[0]
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, extra[0]
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    out = io.BytesIO()
    with open_compressed_writer(out, compression) as w:
        w.write(raw.getvalue())
    return out.getvalue()
