"""An image's root filesystem as the SBOM reads it: the `ImageFiles` protocol, and two implementations —
`DirectoryFiles` (one directory, e.g. a test's tree or an exported rootfs) and `LayeredFiles` (the store's
unpacked layers, top first, merged as overlayfs merges them, without mounting).

Paths are absolute image paths (``/var/lib/dpkg/status``). The protocol does not follow symlinks: every
component of a path given to it but the last must be a directory in the image (paths made from `listdir`
are). `resolve` turns a path that may pass through symlinks into such a path, inside the image: an
absolute link target is taken from the image's root, ``..`` stops at the root, as in a chroot.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from builder.layer.whiteouts import is_opaque, is_whiteout

_MAX_LINKS = 40  # as the kernel's limit on symlinks followed in one lookup


@dataclass(frozen=True)
class FileInfo:
    """What lstat tells about an image path: ``kind`` ``file``, ``dir``, ``symlink`` or ``other``; the
    permission bits; the size in bytes."""

    kind: str
    mode: int
    size: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileInfo:
        if stat.S_ISREG(st.st_mode):
            kind = "file"
        elif stat.S_ISDIR(st.st_mode):
            kind = "dir"
        elif stat.S_ISLNK(st.st_mode):
            kind = "symlink"
        else:
            kind = "other"
        return cls(kind, stat.S_IMODE(st.st_mode), st.st_size)


class ImageFiles(Protocol):
    """Read access to an image's files. ``lstat`` returns None for a path that is not there; ``scandir``
    (a directory's entries with their `FileInfo`, any order), ``readlink`` and ``open`` (a regular file,
    for reading bytes; the caller closes it) raise OSError for a path that is not what they need."""

    def lstat(self, path: str) -> FileInfo | None: ...

    def scandir(self, path: str) -> list[tuple[str, FileInfo]]: ...

    def readlink(self, path: str) -> str: ...

    def open(self, path: str) -> BinaryIO: ...


def _parts(path: str) -> list[str]:
    return [p for p in posixpath.normpath("/" + path).split("/") if p]


class DirectoryFiles:
    """The image as one host directory ``root``. Lookups go component by component without following
    symlinks (``O_NOFOLLOW``), so nothing outside ``root`` is ever read."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)

    def _parent(self, path: str) -> tuple[int, str]:
        """An fd of the directory holding ``path`` (the caller closes it) and the last component ("." for
        the root)."""
        parts = _parts(path)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd, parts[-1] if parts else "."

    def host_path(self, path: str) -> str:
        """Where ``path`` is on the host (for xattr reads, once its parents are known to be directories)."""
        return os.path.join(self.root, *_parts(path))

    def stat_result(self, path: str) -> os.stat_result | None:
        try:
            fd, name = self._parent(path)
        except OSError:
            return None
        try:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            return None
        finally:
            os.close(fd)

    def scan(self, path: str) -> list[tuple[str, os.stat_result]]:
        fd, name = self._parent(path)
        try:
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        finally:
            os.close(fd)
        try:
            return [(n, os.stat(n, dir_fd=child, follow_symlinks=False)) for n in os.listdir(child)]
        finally:
            os.close(child)

    def lstat(self, path: str) -> FileInfo | None:
        st = self.stat_result(path)
        return None if st is None else FileInfo.of(st)

    def scandir(self, path: str) -> list[tuple[str, FileInfo]]:
        return [(name, FileInfo.of(st)) for name, st in self.scan(path)]

    def readlink(self, path: str) -> str:
        fd, name = self._parent(path)
        try:
            return os.readlink(name, dir_fd=fd)
        finally:
            os.close(fd)

    def open(self, path: str) -> BinaryIO:
        fd, name = self._parent(path)
        try:
            child = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        finally:
            os.close(fd)
        return os.fdopen(child, "rb")


class _LayerStore(Protocol):
    def layer_path(self, diff_id: str) -> os.PathLike[str]: ...


class LayeredFiles:
    """The merged view of unpacked layers in the store's form (``layers`` top first), as overlayfs shows
    them: the topmost layer holding a name decides what it is; a whiteout there (a 0/0 character device, or
    a regular file with the overlay whiteout xattr) hides the name; a directory is merged with the same
    directory of the layers below unless it is opaque. Which layers make up each directory is remembered,
    so a lookup costs one stat per layer of its parent, not of every ancestor."""

    def __init__(self, layers: list[str | os.PathLike[str]]) -> None:
        self.layers = [DirectoryFiles(layer) for layer in layers]
        self._dirs: dict[str, list[DirectoryFiles]] = {}

    @classmethod
    def of_image(cls, store: _LayerStore, diff_ids: list[str]) -> LayeredFiles:
        """The root filesystem of an image whose layers (``diff_ids`` in image order, base first, as in its
        config's ``rootfs``) are unpacked in ``store`` (a `builder.store.Store`)."""
        return cls([store.layer_path(diff_id) for diff_id in reversed(diff_ids)])

    @staticmethod
    def _hidden(layer: DirectoryFiles, path: str, st: os.stat_result) -> bool:
        if not (stat.S_ISCHR(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_size == 0)):
            return False
        try:
            return is_whiteout(os.fsencode(layer.host_path(path)), st)
        except OSError:
            return False

    def _dir_layers(self, path: str) -> list[DirectoryFiles]:
        """The layers whose ``path`` makes up the merged directory ``path``, top first; [] when the image
        has no directory there."""
        path = "/" + "/".join(_parts(path))
        if path in self._dirs:
            return self._dirs[path]
        if path == "/":
            below = self.layers
            found = []
            for layer in below:
                found.append(layer)
                if _opaque(layer.root):
                    break
            self._dirs[path] = found
            return found
        found = []
        for layer in self._dir_layers(posixpath.dirname(path)):
            st = layer.stat_result(path)
            if st is None:
                continue
            if self._hidden(layer, path, st) or not stat.S_ISDIR(st.st_mode):
                break  # a whiteout or a non-directory ends the merge (on top it means: no directory)
            found.append(layer)
            if _opaque(layer.host_path(path)):
                break
        self._dirs[path] = found
        return found

    def _entry(self, path: str) -> tuple[DirectoryFiles, os.stat_result] | None:
        parts = _parts(path)
        if not parts:
            top = self._dir_layers("/")
            return (top[0], top[0].stat_result("/")) if top else None  # type: ignore[return-value]
        for layer in self._dir_layers("/" + "/".join(parts[:-1])):
            st = layer.stat_result(path)
            if st is None:
                continue
            return None if self._hidden(layer, path, st) else (layer, st)
        return None

    def lstat(self, path: str) -> FileInfo | None:
        entry = self._entry(path)
        return None if entry is None else FileInfo.of(entry[1])

    def scandir(self, path: str) -> list[tuple[str, FileInfo]]:
        layers = self._dir_layers(path)
        if not layers:
            raise NotADirectoryError(path)
        seen: set[str] = set()
        merged: list[tuple[str, FileInfo]] = []
        for layer in layers:
            for name, st in layer.scan(path):
                if name in seen:
                    continue
                seen.add(name)
                if not self._hidden(layer, posixpath.join(path, name), st):
                    merged.append((name, FileInfo.of(st)))
        return merged

    def readlink(self, path: str) -> str:
        entry = self._entry(path)
        if entry is None:
            raise FileNotFoundError(path)
        return entry[0].readlink(path)

    def open(self, path: str) -> BinaryIO:
        entry = self._entry(path)
        if entry is None:
            raise FileNotFoundError(path)
        return entry[0].open(path)


def _opaque(host: str) -> bool:
    try:
        return is_opaque(os.fsencode(host))
    except OSError:
        return False


def resolve(files: ImageFiles, path: str) -> str | None:
    """``path`` with every symlink in it followed inside the image, or None when it leads nowhere (a
    missing component, a loop, more than 40 links)."""
    todo = _parts(path)
    done: list[str] = []
    links = 0
    while todo:
        part = todo.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = "/" + "/".join([*done, part])
        info = files.lstat(candidate)
        if info is None:
            return None
        if info.kind == "symlink":
            links += 1
            if links > _MAX_LINKS:
                return None
            target = files.readlink(candidate)
            if target.startswith("/"):
                done = []
            todo = [p for p in target.split("/") if p and p != "."] + todo
            continue
        if todo and info.kind != "dir":
            return None
        done.append(part)
    return "/" + "/".join(done)


def read_bytes(files: ImageFiles, path: str, limit: int = 64 << 20) -> bytes | None:
    """The content of the regular file at ``path`` (symlinks followed in the image), at most ``limit``
    bytes (package databases are read whole; a larger one is cut), or None when there is none."""
    real = resolve(files, path)
    if real is None:
        return None
    info = files.lstat(real)
    if info is None or info.kind != "file":
        return None
    with files.open(real) as handle:
        return handle.read(limit)


def walk(files: ImageFiles, top: str = "/") -> Iterator[tuple[str, list[str], list[tuple[str, FileInfo]]]]:
    """Like os.walk without following symlinks, iteratively: (directory, subdirectory names, the other
    entries with their FileInfo), names sorted, so the walk is the same on every run. Removing names from
    the yielded subdirectory list prunes the walk, as with os.walk."""
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(files.scandir(directory), key=lambda entry: entry[0])
        except OSError:
            continue
        subdirs = [name for name, info in entries if info.kind == "dir"]
        others = [(name, info) for name, info in entries if info.kind != "dir"]
        yield directory, subdirs, others
        stack.extend(posixpath.join(directory, name) for name in reversed(subdirs))
