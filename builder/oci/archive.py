"""Where exported images go and where imported ones come from: a directory or a tar archive, streamed.

A *sink* receives named files (``blobs/sha256/<hex>``, ``index.json``…) one at a time; blob contents are
copied from a stream in chunks, so an archive of any size is written in constant memory. A *source* gives
read access to the files of an archive or directory by name. Tar archives are read in place (random access
through the tar headers); compressed archives are decompressed transparently.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from builder.errors import BuildError

_CHUNK = 1 << 20


class ArchiveError(BuildError):
    """An input archive or layout is unreadable, incomplete, or names files outside itself."""


def _clean_name(name: str) -> str:
    """A member name relative to the archive root; refuses names that climb out of it."""
    path = PurePosixPath(name.lstrip("/"))
    parts = [p for p in path.parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ArchiveError(f"archive member name leaves the archive: {name!r}")
    return "/".join(parts)


class TarSink:
    """Writes a tar stream to ``out`` (a file object the caller owns and closes).

    Entries carry fixed owner (0:0), modes (0644/0755) and mtime so the same images give the same archive.
    Call `close` to write the end-of-archive blocks.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self._dirs: set[str] = set()

    def _info(self, name: str, size: int = 0, *, directory: bool = False) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name + ("/" if directory else ""))
        info.size = size
        info.mode = 0o755 if directory else 0o644
        info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
        info.mtime = 0
        info.uname = info.gname = ""
        return info

    def _parents(self, name: str) -> None:
        parent = PurePosixPath(name).parent
        missing = []
        while str(parent) not in (".", "") and str(parent) not in self._dirs:
            missing.append(str(parent))
            parent = parent.parent
        for directory in reversed(missing):
            self._dirs.add(directory)
            self._tar.addfile(self._info(directory, directory=True))

    def add_bytes(self, name: str, data: bytes) -> None:
        self._parents(name)
        self._tar.addfile(self._info(name, len(data)), io.BytesIO(data))

    def add_stream(self, name: str, stream: BinaryIO, size: int) -> None:
        """Copy exactly ``size`` bytes of ``stream``; a shorter or longer stream is an error."""
        self._parents(name)
        self._tar.addfile(self._info(name, size), stream)
        if stream.read(1):
            raise ArchiveError(f"{name}: the content is longer than its recorded size {size}")

    def close(self) -> None:
        self._tar.close()

    def abort(self) -> None:
        """Give up: write nothing more (not even the end-of-archive blocks the tar would write when it is
        collected, into an output that may be gone by then)."""
        stream = self._tar.fileobj
        if stream is not None and hasattr(stream, "closed"):
            stream.closed = True  # tarfile's _Stream: its close() and __del__ then do nothing
        self._tar.closed = True


class DirSink:
    """Writes files under a directory (created if missing). Each file is written to a temp name and renamed.

    ``added`` lists the files and directories this sink created (not those it replaced), in order, so a
    failed export can remove them again (`builder.oci.layoutdir`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.added: list[Path] = []

    def _target(self, name: str) -> Path:
        target = self.root / _clean_name(name)
        missing = [d for d in (target.parent, *target.parent.parents) if d.is_relative_to(self.root)]
        self.added.extend(reversed([d for d in missing if not d.exists()]))
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _place(self, tmp: Path, target: Path) -> None:
        if not target.exists():
            self.added.append(target)
        os.replace(tmp, target)

    def add_bytes(self, name: str, data: bytes) -> None:
        target = self._target(name)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            tmp.write_bytes(data)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._place(tmp, target)

    def add_stream(self, name: str, stream: BinaryIO, size: int) -> None:
        target = self._target(name)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(stream, out, _CHUNK)
                written = out.tell()
            if written != size:
                raise ArchiveError(f"{name}: wrote {written} bytes, expected {size}")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._place(tmp, target)

    def exists(self, name: str) -> bool:
        return (self.root / _clean_name(name)).exists()

    def close(self) -> None:
        pass


class DirSource:
    """Files of an unpacked archive or OCI layout directory. Symlinks leading outside it are refused."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, name: str) -> Path:
        path = (self.root / _clean_name(name)).resolve()
        if not path.is_relative_to(self.root):
            raise ArchiveError(f"{name!r} leads outside {self.root}")
        return path

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def open(self, name: str) -> BinaryIO:
        try:
            return open(self._path(name), "rb")
        except FileNotFoundError:
            raise ArchiveError(f"{self.root}: missing {name}") from None

    def size(self, name: str) -> int:
        return self._path(name).stat().st_size

    def close(self) -> None:
        pass


class TarSource:
    """Files of a tar archive (plain, gzip, bzip2 or xz), read in place. Hard and symbolic links are followed
    within the archive only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._tar = tarfile.open(path, mode="r:*")  # noqa: SIM115 (closed by close())
            members = self._tar.getmembers()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"{path}: not a readable tar archive: {exc}") from None
        self._members: dict[str, tarfile.TarInfo] = {}
        for member in members:
            try:
                self._members[_clean_name(member.name)] = member
            except ArchiveError:
                continue  # an entry we will never be asked for; refusing it here would reject the archive

    def _member(self, name: str, depth: int = 0) -> tarfile.TarInfo:
        member = self._members.get(_clean_name(name))
        if member is None or depth > 16:
            raise ArchiveError(f"{self.path}: missing {name}")
        if member.issym():
            target = PurePosixPath(_clean_name(name)).parent / member.linkname
            return self._member(os.path.normpath(str(target)), depth + 1)
        if member.islnk():
            return self._member(member.linkname, depth + 1)
        if not member.isfile():
            raise ArchiveError(f"{self.path}: {name} is not a regular file")
        return member

    def exists(self, name: str) -> bool:
        try:
            self._member(name)
        except ArchiveError:
            return False
        return True

    def open(self, name: str) -> BinaryIO:
        stream = self._tar.extractfile(self._member(name))
        assert stream is not None  # _member returns regular files only
        return stream

    def size(self, name: str) -> int:
        return self._member(name).size

    def close(self) -> None:
        self._tar.close()


def open_source(path: Path) -> DirSource | TarSource:
    """A source for a directory or a tar file; raises `ArchiveError` if ``path`` is neither."""
    if path.is_dir():
        return DirSource(path)
    if path.is_file():
        return TarSource(path)
    raise ArchiveError(f"no such file or directory: {path}")
