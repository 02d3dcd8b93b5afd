"""ADD: local tar archives unpacked into the destination, and remote sources (URLs, git repositories).

A local source that is a regular file holding a tar archive — plain, gzip, bzip2, xz or zstd, told by its
content, never by its name — is unpacked into the destination (always a directory then, as BuildKit does
it: ``ADD a.tgz /x`` makes ``/x/…``). Entries keep the archive's owners, modes and times whatever
``--chown`` and ``--chmod`` say (as in BuildKit v0.13, they only apply to the destination directory made);
directories the archive implies but does not list are created 0755. Every entry's path is resolved with
the destination as its root, as BuildKit v0.13 unpacks: ``..`` and ``/`` stop at the destination, and a
symlink the archive made (``symldir1 -> ..``, ``abslink -> /etc``) is followed inside it, so
``symldir1/etc/myfile`` lands in ``DEST/etc/myfile``; nothing is ever written outside the destination.
A block or character device other than the standard ones is refused (`builder.layer.devices`; BuildKit
makes them, issue 9 refuses them).
COPY never unpacks, and neither does ADD for a file fetched from a URL.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from builder.errors import BuildError
from builder.fsops import copy as copy_ins
from builder.fsops import rootpath
from builder.fsops.remote.fetched import Fetched


def is_remote(source: str) -> bool:
    """An ADD source fetched from the network: an http(s) URL or a git repository address."""
    return source.startswith(("http://", "https://", "git@", "git://", "ssh://"))


def _opener(head: bytes) -> Callable[[BinaryIO], BinaryIO] | None:
    if head.startswith(b"\x1f\x8b"):
        return lambda raw: gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if head.startswith(b"BZh"):
        return lambda raw: bz2.BZ2File(raw)  # type: ignore[return-value]
    if head.startswith(b"\xfd7zXZ\x00"):
        return lambda raw: lzma.LZMAFile(raw)  # type: ignore[return-value]
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        import zstandard

        return lambda raw: zstandard.ZstdDecompressor().stream_reader(raw)  # type: ignore[return-value]
    return lambda raw: raw


@contextmanager
def _open_archive(path: Path):
    with open(path, "rb") as raw:
        opener = _opener(raw.read(6))
        raw.seek(0)
        yield opener(raw) if opener else raw


def is_tar_archive(path: Path) -> bool:
    """Whether the file at ``path`` holds a (possibly compressed) tar archive: its first header is valid."""
    try:
        with _open_archive(path) as stream:
            header = stream.read(512)
        if len(header) < 512:
            return False
        tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
        return True
    except (OSError, EOFError, tarfile.TarError, lzma.LZMAError, ValueError):
        return False
    except Exception as error:  # zstandard raises its own error type
        if type(error).__name__ == "ZstdError":
            return False
        raise


class _Corrupt(Exception):
    """Reading the (decompressed) archive failed: the archive is damaged, not the machine."""


class _Guarded:
    """A read-only stream whose decompression errors surface as `_Corrupt`, so that an OSError of the
    decompressor (gzip's BadGzipFile, bz2's "Invalid data stream") is told apart from a failed write."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as error:
            raise _Corrupt(str(error) or type(error).__name__) from error
        except Exception as error:  # zstandard raises its own error type
            if type(error).__name__ == "ZstdError":
                raise _Corrupt(str(error)) from error
            raise


def extract_if_archive(
    root: Path, tree: copy_ins.SourceTree, source: str, target: str, placement: copy_ins.Placement
) -> bool:
    """Unpack ``source`` of ``tree`` into ``target`` (absolute, in the image at ``root``) if it is a tar
    archive; returns whether it was one (False: copy it as a file). A damaged archive (truncated, bad
    checksum, not tar after its first header) is a BuildError ``ADD <source>: corrupt archive: …``."""
    resolved = tree.resolve(source)
    if resolved is None:
        return False
    host = tree.root / resolved
    if not host.is_file() or not is_tar_archive(host):
        return False
    copy_ins.make_dirs(root, target, placement)
    directories: list[tuple[Path, tarfile.TarInfo]] = []
    try:
        with _open_archive(host) as stream:
            guarded = _Guarded(stream)
            with tarfile.open(fileobj=guarded, mode="r|") as archive:
                dest = rootpath.resolve_in_root(root, target)
                for member in archive:
                    path = _member_path(dest, member.name)
                    if path is None:
                        continue
                    _extract(root, dest, archive, member, path, placement)
                    if member.isdir():
                        directories.append((path, member))
            while guarded.read(1 << 20):
                pass  # to the end, where gzip and xz check their CRC (as BuildKit's unpigz does)
    except (_Corrupt, tarfile.TarError) as error:
        raise BuildError(f"ADD {source}: corrupt archive: {error}") from None
    for path, member in reversed(directories):  # after their contents, which touched them
        os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
        placement.dir_times[os.fspath(path)] = int(member.mtime) * 1_000_000_000
    return True


def _member_path(dest: Path, name: str) -> Path | None:
    """Where entry ``name`` goes: its directory resolved with ``dest`` as the root (`builder.fsops.rootpath`:
    ``..`` stops there, symlinks are followed inside it), its own name kept as written, so an entry replaces a
    symlink of that name rather than writing through it. None for the destination itself.

    A directory that leads through a symlink to something missing (``dl -> /nowhere``, entry ``dl/y``) is a
    BuildError, as BuildKit v0.13 fails there ("open /dl/y: no such file or directory"); directories the
    archive implies but lacks are made, as it makes them."""
    clean = posixpath.normpath("/" + name.lstrip("/"))
    if clean == "/":
        return None
    parent = posixpath.dirname(clean)
    _, missing = rootpath.follow(dest, parent, strict=True)
    written = [p for p in parent.split("/") if p]
    if missing and written[len(written) - len(missing) :] != missing:  # the missing part is a link's target
        raise BuildError(f"archive entry {name!r}: {clean}: no such file or directory (a symlink on the way "
                         f"leads to /{'/'.join(missing)}, which does not exist)")  # fmt: skip
    return rootpath.resolve_in_root(dest, parent) / posixpath.basename(clean)


def _extract(
    root: Path,
    dest: Path,
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    path: Path,
    placement: copy_ins.Placement,
) -> None:
    if dest not in path.parents:  # `_member_path` keeps it inside; a write must never rely on that alone
        raise BuildError(f"archive entry {member.name!r} would be written outside the destination")
    copy_ins.make_dirs(root, rootpath.relative(root, path.parent), placement)
    rootpath.ensure_inside(dest, path)
    if os.path.lexists(path) and not (member.isdir() and path.is_dir() and not path.is_symlink()):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    if member.isdir():
        if not path.exists():
            os.mkdir(path, 0o700)
    elif member.isreg():
        source = archive.extractfile(member)
        with os.fdopen(rootpath.create_file(path), "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)  # type: ignore[misc]
    elif member.issym():
        os.symlink(member.linkname, path)
    elif member.islnk():
        linked = _member_path(dest, member.linkname)
        if linked is None or not os.path.lexists(linked):
            raise BuildError(f"archive entry {member.name!r} links to missing {member.linkname!r}")
        os.link(linked, path)
        return
    elif member.ischr() or member.isblk() or member.isfifo():
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
        from builder.layer.devices import device_refusal  # only for archives that hold nodes

        # the step's layer would hold the node, and a layer with such a device is refused when applied
        refused = device_refusal(kind, member.devmajor, member.devminor)
        if refused is not None:
            raise BuildError(f"archive entry {member.name!r}: {refused}")
        os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
    else:
        return
    # BuildKit v0.13 applies --chown and --chmod to the destination it creates, never to the entries
    os.lchown(path, member.uid, member.gid)
    if not member.issym():
        os.chmod(path, member.mode & 0o7777)
        os.utime(path, (member.mtime, member.mtime))


def fetch(source: str, directory: Path, *, checksum: str | None, keep_git_dir: bool) -> Fetched:
    """Download ``source`` into ``directory`` (a staging directory the caller removes)."""
    from builder.fsops import remote

    if remote.is_git(source):
        if checksum:
            raise BuildError("checksum can't be specified for non-HTTP sources")
        return remote.fetch_git(source, directory, keep_git_dir=keep_git_dir)
    return remote.fetch_url(source, directory, checksum=checksum)
