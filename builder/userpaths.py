"""Paths as users type them, resolved once, where they enter pybuild (the CLI and the Python API).

Everything below the entry point sees absolute paths only, so no part of a build depends on the directory it
happens to run in: runc starts each step in its bundle directory, and a context bind mount given relative to
the user's working directory would otherwise name a directory there. The rules follow the docker CLI:

* a path is made absolute against the working directory and cleaned lexically (Go's ``filepath.Abs``:
  ``-f ../Buildfile`` names the parent of the working directory, whatever links led there);
* the build context is also resolved through symbolic links, as BuildKit's file sync opens the context;
* ``-`` (standard input or output) is not a path and is left alone.

Names shown in messages stay as the user typed them (`buildfile_name`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from builder.errors import UsageError
from builder.outputspec import OutputSpec

#: The names a Buildfile has in its context when ``-f`` is not given, in the order they are looked for.
DEFAULT_NAMES = ("Buildfile", "Dockerfile")


def absolute(path: str | os.PathLike, cwd: str | os.PathLike | None = None) -> Path:
    """``path`` absolute against ``cwd`` (default: the process's working directory), cleaned lexically."""
    base = os.fspath(cwd) if cwd is not None else os.getcwd()
    return Path(os.path.normpath(os.path.join(base, os.fspath(path))))


def context_directory(text: str | os.PathLike, cwd: str | os.PathLike | None = None) -> Path:
    """The build context ``text`` names: absolute, with its symbolic links resolved. Raises `UsageError`
    when it is not a directory."""
    path = Path(os.path.realpath(absolute(text, cwd)))
    if not path.is_dir():
        raise UsageError(f"build context {os.fspath(text)!r} is not a directory")
    return path


def default_buildfile(context: Path) -> Path:
    """``CONTEXT/Buildfile``, else ``CONTEXT/Dockerfile`` when only that exists."""
    candidates = [context / name for name in DEFAULT_NAMES]
    return next((path for path in candidates if path.exists()), candidates[0])


def buildfile_name(file: str | os.PathLike | None, context_text: str | os.PathLike, context: Path) -> str:
    """How messages name the Buildfile: ``file`` as typed, or the default file under the context as typed
    (``Buildfile`` for the context ``.``)."""
    if file is not None:
        return os.fspath(file)
    return str(Path(os.fspath(context_text)) / default_buildfile(context).name)


def absolute_output(output: OutputSpec, cwd: str | os.PathLike | None = None) -> OutputSpec:
    """An ``-o`` spec (`builder.outputspec.parse_output`) with its ``dest`` absolute (``-`` kept)."""
    if not output.dest or output.to_stdout:
        return output
    return dataclasses.replace(output, dest=str(absolute(output.dest, cwd)))


def absolute_cache_spec(spec, cwd: str | os.PathLike | None = None):
    """A ``--cache-to``/``--cache-from`` spec (`builder.sharedcache.spec.CacheSpec`) with a ``type=local``
    directory absolute."""
    if spec.type != "local" or not spec.location:
        return spec
    return dataclasses.replace(spec, location=str(absolute(spec.location, cwd)))
