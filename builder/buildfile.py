"""Finding and reading the Buildfile, and the ``--build-arg`` convention shared by ``build`` and ``outline``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from builder.errors import UsageError


def read_buildfile(file: str | os.PathLike | None, context: str | os.PathLike) -> tuple[str, str]:
    """``(path shown in messages, text)`` of the Buildfile: ``file``, ``-`` for standard input, or by default
    ``CONTEXT/Buildfile``, else ``CONTEXT/Dockerfile``. A missing or unreadable file is a `UsageError`."""
    if file is not None and str(file) == "-":
        return "<stdin>", sys.stdin.read()
    if file is None:
        candidates = [Path(context) / "Buildfile", Path(context) / "Dockerfile"]
        path = next((p for p in candidates if p.exists()), candidates[0])
    else:
        path = Path(file)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"cannot read the Buildfile {str(path)!r}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the Buildfile {str(path)!r}: {error}") from None


def parse_build_args(values: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs; a bare ``NAME`` takes ``$NAME`` from the environment and is dropped if unset."""
    result: dict[str, str] = {}
    for value in values:
        name, eq, rest = value.partition("=")
        if not name:
            raise UsageError(f"--build-arg {value!r}: expected NAME=VALUE")
        if eq:
            result[name] = rest
        elif name in os.environ:
            result[name] = os.environ[name]
    return result
