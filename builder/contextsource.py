"""Build contexts that are not a local directory, as ``docker buildx build`` takes them:

* ``-``: a tar archive on stdin (plain, gzip, bzip2 or xz), or — when stdin is not an archive — a Dockerfile
  alone, with an empty context;
* a git repository, ``URL[#REF][:SUBDIR]`` (``https://host/repo.git#v1:app``, ``git://…``, ``git@host:…``),
  cloned with Debian's ``git``; the context is the checkout (or its SUBDIR), without ``.git``;
* an http(s) URL of a tar archive (unpacked as the context) or of a plain-text Dockerfile (empty context).

`materialize` makes each a directory in a scratch area that lives as long as its ``with`` block. A
Buildfile named by ``-f`` is then a path inside that context, as buildx reads it for remote contexts.
Archives are unpacked with tarfile's ``data`` filter: members that would land outside the context, device
nodes and absolute links are refused.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from builder.errors import UsageError
from builder.store.fsutil import remove_tree
from builder.userpaths import context_directory


@dataclass(frozen=True)
class Context:
    """A context ready to build: its directory, and the Buildfile text when the source was one (stdin or
    a URL serving a Dockerfile), else None (read it from the directory as usual)."""

    directory: Path
    buildfile_text: str | None = None
    remote: bool = False


def is_remote(spec: str) -> bool:
    """Whether ``spec`` names a context other than a local directory."""
    from builder.fsops.remote.git import is_git

    return spec == "-" or is_git(spec) or spec.startswith(("http://", "https://"))


@contextmanager
def materialize(spec: str, stdin: BinaryIO) -> Iterator[Context]:
    """The context ``spec`` names (see the module docstring), in a temp directory removed afterwards.
    A local directory is passed through. Raises `UsageError` when it cannot be had."""
    if not is_remote(spec):
        yield Context(context_directory(spec))
        return
    scratch = Path(tempfile.mkdtemp(prefix="pybuild-context-"))
    try:
        yield _fetch(spec, stdin, scratch)
    finally:
        remove_tree(scratch)  # iterative: an archive may nest deeper than Python's recursion limit


def _fetch(spec: str, stdin: BinaryIO, scratch: Path) -> Context:
    from builder.fsops.remote.git import is_git

    download = scratch / "download"
    if spec == "-":
        with open(download, "wb") as out:
            shutil.copyfileobj(stdin, out, 1 << 20)
        return _archive_or_buildfile(download, scratch / "context", "stdin")
    if is_git(spec):
        return Context(_clone(spec, scratch), remote=True)
    _download(spec, download)
    return _archive_or_buildfile(download, scratch / "context", spec)


def _archive_or_buildfile(path: Path, directory: Path, what: str) -> Context:
    directory.mkdir()
    if not tarfile.is_tarfile(path):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"context from {what} is neither a tar archive nor a Dockerfile") from None
        return Context(directory, buildfile_text=text, remote=True)
    try:
        with tarfile.open(path, "r:*") as archive:
            archive.extractall(directory, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise UsageError(f"cannot unpack the context from {what}: {error}") from None
    return Context(directory, remote=True)


def _download(url: str, dest: Path) -> None:
    import requests

    try:
        with requests.get(url, stream=True, timeout=60) as response:
            if response.status_code >= 400:
                raise UsageError(f"context {url}: invalid response status {response.status_code}")
            with open(dest, "wb") as out:
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
    except requests.RequestException as error:
        raise UsageError(f"context {url}: {error}") from None


def _clone(spec: str, scratch: Path) -> Path:
    from builder.errors import BuildError
    from builder.fsops.remote.git import checkout, split_fragment

    url, _ref, subdir = split_fragment(spec)
    try:
        root, _commit = checkout(spec, scratch / "checkout")
    except BuildError as error:
        raise UsageError(f"context {url}: {error.message}") from None
    remove_tree(root / ".git")
    directory = (root / subdir).resolve() if subdir else root
    if not directory.is_relative_to(root.resolve()) or not directory.is_dir():
        raise UsageError(f"context {spec}: no directory {subdir!r} in the repository")
    return directory


def buildfile_in(context: Context, file: str | None) -> Path | None:
    """Where ``-f FILE`` points for ``context``: inside it for a remote context (as buildx reads it), as given
    otherwise. None keeps the default (``CONTEXT/Buildfile``, else ``Dockerfile``)."""
    if file is None or not context.remote:
        return Path(file) if file is not None else None
    inside = (context.directory / file).resolve()
    if not inside.is_relative_to(context.directory.resolve()):
        raise UsageError(f"-f {file}: a remote context's Buildfile must be inside it")
    return inside
