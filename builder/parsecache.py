"""Parsed Buildfiles kept between builds, so that a rebuild of an unchanged Buildfile skips the parser.

Parsing costs a cached build more than anything else it does: lark and the parser's modules take ~30 ms to
import before the first line is read. A `ParseCache` keeps each successfully parsed Buildfile as JSON in a
directory of the store (``state/parse``), named by the SHA-256 of the Buildfile's text, its name (spans carry
it) and a fingerprint of the parser itself: the size and modification time of every source file the parse
depends on (``builder/syntax``, ``builder/gofmt.py``, ``builder/errors.py``, the grammar, all found through
the installed package) and of lark's. Any
change there, an upgrade included, gives new names, so an entry is only ever read back by the parser that
wrote it. A Buildfile that fails to parse is never kept: its error comes from the parser every time.

Entries are written to a temporary file and renamed, so a reader sees a whole entry or none; one that does
not decode is treated as absent. At most `MAX_ENTRIES` are kept: writing one more removes the oldest.
Nothing here raises for a cache problem; the caller parses instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from contextlib import suppress
from pathlib import Path

from builder.errors import Span
from builder.syntax import ast

#: Bump when the encoding changes.
FORMAT = 1
MAX_ENTRIES = 256

#: The parser's sources inside the ``builder`` package (the grammar is its package data).
_PARSER_SOURCES = ("syntax", "gofmt.py", "errors.py", "grammar/buildfile.lark")

#: The classes an entry may name: the syntax tree's and Span, nothing else.
_CLASSES: dict[str, type] = {
    name: value
    for name, value in vars(ast).items()
    if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == ast.__name__
}
_CLASSES["Span"] = Span

_fingerprint: str | None = None


def parser_fingerprint() -> str:
    """A digest of the sizes and modification times of the parser's source files and lark's, computed once
    per process without importing lark."""
    global _fingerprint
    if _fingerprint is None:
        from importlib.resources import files as package_files
        from importlib.util import find_spec

        # builder is an ordinary package on the file system (a wheel installs it so), whose files can be stat'ed
        package = Path(str(package_files("builder")))
        files: list[str] = []
        for name in _PARSER_SOURCES:
            source = package / name
            if source.is_dir():
                files.extend(sorted(e.path for e in os.scandir(source) if e.name.endswith(".py")))
            else:
                files.append(str(source))
        lark = find_spec("lark")
        if lark is not None and lark.origin:
            files.append(lark.origin)  # lark/__init__.py holds its version
        parts = [f"format {FORMAT}"]
        for path in files:
            try:
                info = os.stat(path)
            except OSError:
                continue
            parts.append(f"{path} {info.st_size} {info.st_mtime_ns}")
        _fingerprint = hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
    return _fingerprint


def encode(buildfile: ast.Buildfile) -> str:
    """The JSON text of a syntax tree (dataclasses as objects naming their class, tuples as arrays)."""
    return json.dumps(_plain(buildfile), separators=(",", ":"))


def decode(text: str) -> ast.Buildfile:
    """The syntax tree `encode` gave ``text`` for. Raises ValueError (or KeyError, TypeError) if ``text``
    is not such an encoding."""
    tree = _rebuild(json.loads(text))
    if not isinstance(tree, ast.Buildfile):
        raise ValueError("not a Buildfile")
    return tree


def _plain(value):
    if dataclasses.is_dataclass(value):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$": type(value).__name__, **fields}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"cannot keep a {type(value).__name__} in a parse cache entry")


def _rebuild(value):
    if isinstance(value, dict):
        fields = {k: _rebuild(v) for k, v in value.items() if k != "$"}
        return _CLASSES[value["$"]](**fields)
    if isinstance(value, list):
        return tuple(_rebuild(v) for v in value)
    return value


class ParseCache:
    """Parsed Buildfiles in ``directory`` (which need not exist until `save` is called)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _entry(self, text: str, name: str) -> Path:
        digest = hashlib.sha256()
        for part in (parser_fingerprint(), name, text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big") + data)
        return self.directory / f"{digest.hexdigest()}.json"

    def load(self, text: str, name: str) -> ast.Buildfile | None:
        """The tree `save` kept for this text and name, or None."""
        try:
            return decode(self._entry(text, name).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, text: str, name: str, buildfile: ast.Buildfile) -> None:
        """Keep ``buildfile`` (the parse of ``text`` named ``name``); quietly does nothing if it cannot."""
        entry = self._entry(text, name)
        temp = entry.with_name(f".{entry.name}.{os.getpid()}")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temp.write_text(encode(buildfile), encoding="utf-8")
            os.replace(temp, entry)
            self._trim()
        except (OSError, TypeError):
            with suppress(OSError):
                temp.unlink(missing_ok=True)

    def _trim(self) -> None:
        entries = [e for e in os.scandir(self.directory) if e.name.endswith(".json")]
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda e: e.stat().st_mtime_ns)
        for old in entries[: len(entries) - MAX_ENTRIES]:
            Path(old.path).unlink(missing_ok=True)
