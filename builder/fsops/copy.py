"""COPY and ADD: choosing the sources, placing them at the destination, owners and modes.

The step mounts the parent's layers (overlay, upperdir = the new layer) and calls `copy_source` for each
selected source with the merged root; everything written there lands in the step's layer. Sources are read
through a `SourceTree`: the build context as BuildKit receives it (ignore rules applied), or the root
filesystem of another stage or image (``--from``).

Rules, as BuildKit v0.13 applies them (``tests/copy/buildkit/`` records each):

* a source path is relative to the source root, ``/x`` and ``x`` both name ``x`` at the root, and every
  symlink on the way (the last one included) is followed, so nothing outside the root is ever read:
  - in an image's root filesystem (``--from``), ``..`` stops at the root and symlinks resolve inside it,
    as BuildKit does (``../x`` names ``x`` at the root; a link to ``/etc/passwd`` names its ``etc/passwd``);
  - in the build context, a source that climbs above it (``../x``, ``a/../../x``) or goes through a symlink
    whose target is absolute or climbs above it is refused, never re-rooted (`builder.fsops.contextpath`; a
    deliberate deviation from BuildKit, issue 9). Symlinks inside a copied directory are copied as they are;
* wildcards (Go's ``filepath.Match`` per path segment: ``* ? [...] [^...]``, ``\\`` escapes) expand to the
  matches in lexical order; no match copies nothing (no error); a plain path that does not exist is an error;
* the destination is a directory when it ends in ``/`` or is ``.``, or when it already is a directory
  (symlinks resolved inside the image); otherwise each source is written *as* the destination, so with
  several sources the last one wins; a relative destination is joined to WORKDIR;
* missing directories on the way are created 0755, owned by ``--chown`` (root otherwise); existing ones are
  left as they are;
* a directory contributes its contents; a file keeps its name inside a directory destination; symlinks
  inside copied trees stay symlinks, hard links stay hard links, FIFOs are made, sockets and devices are
  skipped;
* owners: ``--chown`` if given, else root for the context and the source's own for ``--from``; modes:
  ``--chmod`` if given (only its permission bits, as BuildKit), else the source's; mtimes are kept.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import BuildError
from builder.fsops import contextpath, rootpath
from builder.instructions.chmod import parse_chmod
from builder.linearre import LinearRegex, compile_linear

__all__ = ["parse_chmod"]  # re-exported: the steps take --chmod from here with the rest


def history_text(
    keyword: str, sources: list[str], dest: str, chown: str | None = None, chmod: str | None = None
) -> str:
    """``COPY [--chown=…] [--chmod=…] src… dest # buildkit``: BuildKit v0.13 records ``--chown`` and then
    ``--chmod`` (expanded, whatever order they were written in) and no other flag, nor heredoc bodies."""
    flags = [f"--chown={chown}"] if chown else []
    flags += [f"--chmod={chmod}"] if chmod else []
    return f"{keyword} {' '.join([*flags, *sources, dest])} # buildkit"


# --- wildcards -------------------------------------------------------------------------------------------
def has_wildcard(pattern: str) -> bool:
    """Go's ``containsWildcards``: an unescaped ``*``, ``?`` or ``[``."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] in "*?[":
            return True
        i += 1
    return False


def _segment_regex(pattern: str) -> re.Pattern[str] | LinearRegex:
    """Go's ``filepath.Match`` for one path segment as a regex; raises BuildError when malformed. It matches
    in time linear in the name, as Go's does (`builder.linearre`): ``*a*a*a*a*b`` over a long name would
    make Python's ``re`` backtrack for hours."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i >= n:
                raise BuildError(f"syntax error in pattern: {pattern}")
            out.append(re.escape(pattern[i]))
            i += 1
        elif ch == "[":
            negate = i < n and pattern[i] == "^"
            i += negate
            ranges, first = [], True
            while i < n and (pattern[i] != "]" or first):
                first = False
                lo, i = _class_char(pattern, i)
                hi = lo
                if i + 1 < n and pattern[i] == "-" and pattern[i + 1] != "]":
                    hi, i = _class_char(pattern, i + 1)
                ranges.append(f"{re.escape(lo)}-{re.escape(hi)}")
            if i >= n or not ranges:
                raise BuildError(f"syntax error in pattern: {pattern}")
            i += 1
            out.append(f"[{'^/' if negate else ''}{''.join(ranges)}]")
        else:
            out.append(re.escape(ch))
    # Each "*" writes one repetition; the text is in the syntax re and RE2 share (no "." in it: DOTALL and
    # RE2's default agree).
    return compile_linear("".join(out), pattern.count("*"), flags=re.DOTALL)


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    if pattern[i] == "\\":
        if i + 1 >= len(pattern):
            raise BuildError(f"syntax error in pattern: {pattern}")
        return pattern[i + 1], i + 2
    return pattern[i], i + 1


def clean_segments(path: str) -> list[str]:
    """The segments of ``path`` cleaned as a path below the root (``..`` cannot leave it)."""
    return [p for p in posixpath.normpath("/" + path).split("/") if p]


def _split_wildcards(path: str) -> tuple[list[str], list[str]]:
    """The segments before the first one with a wildcard, and the rest (BuildKit's splitWildcards)."""
    parts = clean_segments(path)
    for index, part in enumerate(parts):
        if has_wildcard(part):
            return parts[:index], parts[index:]
    return parts, []


# --- the source side --------------------------------------------------------------------------------------
@dataclass
class SourceTree:
    """A directory sources are read from. ``included(rel)`` says whether an entry is part of it (the ignore
    rules for the context; None: everything). ``keep_owner``: copies keep the entries' uid/gid (``--from``);
    otherwise they belong to root, as the context's files do once sent to BuildKit.

    ``confined``: the tree is a directory of the host with an outside (the context, a heredoc, a git
    checkout), and a source leading out of it raises BuildError (`builder.fsops.contextpath`); otherwise it is a
    root filesystem, where ``..`` stops at the root and symlinks resolve inside it. None (the default)
    means confined unless ``keep_owner``, which only an image's root filesystem (``--from``) has.
    """

    root: Path
    included: Callable[[str], bool] | None = None
    keep_owner: bool = False
    name: str = "the build context"
    confined: bool | None = None

    def __post_init__(self) -> None:
        if self.confined is None:
            self.confined = not self.keep_owner

    def exists(self, rel: str) -> bool:
        if rel and self.included is not None and not self.included(rel):
            return False
        return os.path.lexists(self.root / rel) if rel else True

    def listdir(self, rel: str) -> list[str]:
        names = sorted(os.listdir(self.root / rel if rel else self.root))
        return [n for n in names if self.exists(f"{rel}/{n}" if rel else n)]

    def resolve(self, path: str) -> str | None:
        """``path`` with every symlink resolved inside the root (clean, relative; "" is the root), or None
        when an entry on the way is missing or excluded. In a ``confined`` tree a path leading outside
        raises BuildError (see `follow`)."""
        return self.follow(path)[0]

    def missing(self, path: str) -> BuildError:
        """The error for a ``path`` that does not resolve, naming where its symlinks led, as BuildKit does."""
        shown = f'"/{path.strip("/")}"'
        reached = self.follow(path)[1]
        if reached.strip("/") != posixpath.normpath("/" + path).strip("/"):
            shown += f' (a symlink to "/{reached}")'
            return BuildError(f'{shown}: "/{reached}" not found in {self.name}; symlinks resolve inside it')
        return BuildError(f"{shown} not found in {self.name}")

    def follow(self, path: str) -> tuple[str | None, str]:
        """`resolve`, and the path it reached (the missing one when it failed). In a ``confined`` tree a
        path that climbs above the root, or goes through a symlink whose target is absolute or climbs above
        it, raises BuildError (``source "../x" is outside the build context``)."""
        return self._follow(path, path)

    def _follow(self, path: str, source: str) -> tuple[str | None, str]:
        """`follow` of ``path``, a part of ``source`` (what an error names)."""
        visible = None if self.included is None else self.included
        try:
            if self.confined:
                resolved, rest = contextpath.follow(self.root, path, visible=visible)
            else:
                resolved, rest = rootpath.follow(self.root, path, visible=visible, strict=True)
        except contextpath.Outside as outside:
            raise self._outside(contextpath.Outside(source, outside.link, outside.target)) from None
        except OSError as error:
            raise BuildError(f"too many levels of symbolic links: /{path.lstrip('/')}") from error
        reached = "/".join(resolved + rest)
        return (None if rest else reached), reached

    def _outside(self, outside: contextpath.Outside) -> BuildError:
        if outside.link is None:
            return BuildError(f'source "{outside.path}" is outside {self.name}')
        return BuildError(
            f'source "{outside.path}" resolves outside {self.name} through symlink '
            f"{outside.link} -> {outside.target}",
            hint="symlinks in the context are copied as symlinks when their directory is copied, never "
            "followed out of it",
        )

    def select(self, source: str) -> list[str]:
        """The paths (relative, unresolved) ``source`` names, in order. A plain path is returned as it is
        (checked when copied); a wildcard yields its matches, possibly none. In a ``confined`` tree a
        ``source`` climbing above the root raises BuildError, as does a wildcard's fixed part that
        leads outside through a symlink."""
        if self.confined and contextpath.climbs_above(source):
            raise self._outside(contextpath.Outside(source))
        fixed, wild = _split_wildcards(source)
        if not wild:
            return ["/".join(fixed)]
        base = self._follow("/".join(fixed), source)[0]
        if base is None or not (self.root / base if base else self.root).is_dir():
            return []
        matches = [base]
        for depth, part in enumerate(wild):
            regex = _segment_regex(part)
            found = []
            for rel in matches:
                host = self.root / rel if rel else self.root
                if host.is_symlink() or not host.is_dir():
                    continue  # the walk BuildKit does never enters a linked directory
                found.extend(f"{rel}/{n}" if rel else n for n in self.listdir(rel) if regex.fullmatch(n))
            matches = found
            if depth < len(wild) - 1:
                matches = [m for m in matches if (self.root / m).is_dir() and not (self.root / m).is_symlink()]
        return matches


# --- owners and modes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ownership:
    """An owner for created directories (WORKDIR uses it with `make_dirs`)."""

    uid: int = 0
    gid: int = 0
    mode: int | None = None


@dataclass
class Placement:
    """Who copied entries belong to and how their modes change; shared by all sources of one step."""

    uid: int | None = None  # None: root for the context, the source's own for --from
    gid: int | None = None
    chmod: Callable[[int, bool], int] | None = None
    links: dict[tuple[int, int], Path] = field(default_factory=dict)
    #: host path → source mtime (ns) of each directory the copy made from a source directory, for
    #: `builder.fsops.dirtimes.settle` (entries written into it afterwards move its mtime)
    dir_times: dict[str, int] = field(default_factory=dict)

    def owner(self, tree: SourceTree, st: os.stat_result) -> tuple[int, int]:
        if self.uid is not None:
            return self.uid, self.gid or 0
        return (st.st_uid, st.st_gid) if tree.keep_owner else (0, 0)


# --- the destination side ---------------------------------------------------------------------------------
def make_dirs(root: Path, path: str, placement: Placement | Ownership) -> Path:
    """Create the missing directories of image path ``path`` (0755, owned by ``--chown`` or root), resolved
    inside ``root`` (`builder.fsops.rootpath`): a symlink on the way, even a dangling one, leads inside the
    image. Returns the host path."""
    host = rootpath.resolve_in_root(root, path)
    current = root
    for part in host.relative_to(root).parts:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current, 0o755)
            os.chmod(current, 0o755)
            os.lchown(current, placement.uid or 0, placement.gid or 0)
            continue
        if not stat.S_ISDIR(st.st_mode):  # a resolved path holds no symlink: this is a file
            shown = "/" + path.lstrip("/")
            raise BuildError(f"cannot copy to {shown}: {rootpath.relative(root, current)} is not a directory")
    return host


def destination(dest: str, workdir: str) -> tuple[str, bool]:
    """The absolute, clean destination and whether it is meant as a directory (``/`` or ``/.`` at the end,
    ``.``; BuildKit v0.13 takes ``/n/.`` as the directory ``/n``)."""
    joined = dest if dest.startswith("/") else posixpath.join(workdir or "/", dest)
    return posixpath.normpath("/" + joined), dest in (".", "") or dest.endswith(("/", "/."))


def copy_source(
    root: Path,
    tree: SourceTree,
    source: str,
    dest: str,
    as_dir: bool,
    placement: Placement,
    skip: Callable[[str], bool] | None = None,
) -> None:
    """Copy one selected ``source`` of ``tree`` to ``dest`` (absolute) in the image mounted at ``root``.

    Raises BuildError when the source does not exist. ``skip(rel)`` leaves entries out (``--exclude``),
    ``rel`` being the path below the source.
    """
    resolved = tree.resolve(source)
    if resolved is None:
        raise tree.missing(source)
    host = tree.root / resolved if resolved else tree.root
    st = os.stat(host)
    if as_dir:
        make_dirs(root, dest, placement)
    else:
        make_dirs(root, posixpath.dirname(dest), placement)
    target = rootpath.resolve_in_root(root, dest)
    rootpath.ensure_inside(root, target)
    if stat.S_ISDIR(st.st_mode):
        if not target.is_dir():
            _remove(target)
            make_dirs(root, dest, placement)
        placement.dir_times[os.fspath(target)] = st.st_mtime_ns  # it stands for the source directory
        for name in tree.listdir(resolved):
            rel = f"{resolved}/{name}" if resolved else name
            _copy_entry(tree, rel, target / name, placement, name, skip)
        return
    if target.is_dir():
        target = target / posixpath.basename(source.rstrip("/") or resolved)
    _copy_entry(tree, resolved, target, placement, "", skip, follow=True)


def _remove(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif os.path.lexists(target):
        target.unlink()


def _copy_entry(
    tree: SourceTree,
    rel: str,
    target: Path,
    placement: Placement,
    below: str,
    skip: Callable[[str], bool] | None,
    *,
    follow: bool = False,
) -> None:
    """Copy the entry ``rel`` of ``tree`` (a whole directory tree) to ``target``. A directory gets its owner,
    mode and times after its contents are written (writing them changes its mtime). A stack of directories
    being copied, not recursion: a context may nest directories thousands deep."""
    open_dirs: list[tuple[Iterator[str], str, Path, str, os.stat_result]] = []
    st = _copy_one(tree, rel, target, placement, below, skip, follow)
    if st is not None and stat.S_ISDIR(st.st_mode):
        open_dirs.append((iter(tree.listdir(rel)), rel, target, below, st))
    while open_dirs:
        names, dir_rel, dir_target, dir_below, dir_st = open_dirs[-1]
        name = next(names, None)
        if name is None:
            open_dirs.pop()
            _finish(tree, dir_target, placement, dir_st)
            continue
        child_rel, child_target = f"{dir_rel}/{name}", dir_target / name
        child_below = f"{dir_below}/{name}" if dir_below else name
        st = _copy_one(tree, child_rel, child_target, placement, child_below, skip, False)
        if st is not None and stat.S_ISDIR(st.st_mode):
            open_dirs.append((iter(tree.listdir(child_rel)), child_rel, child_target, child_below, st))


def _copy_one(
    tree: SourceTree,
    rel: str,
    target: Path,
    placement: Placement,
    below: str,
    skip: Callable[[str], bool] | None,
    follow: bool,
) -> os.stat_result | None:
    """Copy one entry (a directory: only made, its contents and metadata are the caller's); its stat, or
    None when it is skipped or not copied (sockets, fifos, devices, a reused hard link)."""
    if below and skip and skip(below):
        return None
    source = tree.root / rel
    st = os.stat(source) if follow else os.lstat(source)
    kind = stat.S_IFMT(st.st_mode)
    if kind not in (stat.S_IFDIR, stat.S_IFREG, stat.S_IFLNK, stat.S_IFIFO):
        return None  # sockets and devices are not copied (FIFOs are, as BuildKit v0.13 copies them)
    if os.path.lexists(target) and not (kind == stat.S_IFDIR and target.is_dir() and not target.is_symlink()):
        _remove(target)
    if kind == stat.S_IFDIR:
        if not os.path.lexists(target):
            os.mkdir(target, 0o700)
        placement.dir_times[os.fspath(target)] = st.st_mtime_ns
        return st
    if kind == stat.S_IFLNK:
        os.symlink(os.readlink(source), target)
    elif kind == stat.S_IFIFO:
        os.mkfifo(target, 0o600)  # a named pipe is copied as one, never opened (as BuildKit)
    elif st.st_nlink > 1 and (st.st_dev, st.st_ino) in placement.links:
        os.link(placement.links[(st.st_dev, st.st_ino)], target)
        return None
    else:
        with open(source, "rb") as src, os.fdopen(rootpath.create_file(target), "wb") as dst:
            copy_data(src, dst)
        if st.st_nlink > 1:
            placement.links[(st.st_dev, st.st_ino)] = target
    _finish(tree, target, placement, st)
    return st


def copy_data(src, dst) -> None:
    """Copy what is left of open file ``src`` to open file ``dst``, in the kernel where it can
    (``copy_file_range``: no trip through this process, a clone where the file system shares extents),
    else through a buffer. Both are binary file objects with nothing buffered."""
    copied = 0
    try:
        while count := os.copy_file_range(src.fileno(), dst.fileno(), 1 << 30):
            copied += count
        if copied:
            return
        # nothing copied: an empty file, or one whose file system the kernel copy reads as empty (procfs,
        # some FUSE file systems before Linux 5.19): the buffer tells them apart
    except OSError as error:
        # not between these file systems (EXDEV), not by this kernel or file (ENOSYS, EINVAL, EOPNOTSUPP):
        # what was not copied yet is copied through a buffer (both offsets moved by what was)
        if error.errno not in _NO_KERNEL_COPY:
            raise
    shutil.copyfileobj(src, dst, 1 << 20)


_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}


def _finish(tree: SourceTree, target: Path, placement: Placement, st: os.stat_result) -> None:
    """Owner, mode and times of a copied entry (for a directory: once its contents are written)."""
    kind = stat.S_IFMT(st.st_mode)
    uid, gid = placement.owner(tree, st)
    os.lchown(target, uid, gid)
    if kind != stat.S_IFLNK:
        mode = stat.S_IMODE(st.st_mode)
        os.chmod(target, placement.chmod(mode, kind == stat.S_IFDIR) if placement.chmod else mode)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
