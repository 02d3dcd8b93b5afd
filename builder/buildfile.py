"""Finding and reading the Buildfile, and the options and ``--build-arg`` convention ``build`` and ``outline``
share."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from builder.errors import UsageError


def read_buildfile(
    file: str | os.PathLike | None, context: str | os.PathLike, *, shown: str | None = None
) -> tuple[str, str]:
    """``(path shown in messages, text)`` of the Buildfile: ``file``, ``-`` for standard input, or by default
    ``CONTEXT/Buildfile``, else ``CONTEXT/Dockerfile``. ``shown`` names it in messages (default: its path).
    A missing or unreadable file is a `UsageError`."""
    from builder.userpaths import default_buildfile

    if file is not None and str(file) == "-":
        return "<stdin>", read_stdin_text()
    path = default_buildfile(Path(context)) if file is None else Path(file)
    try:
        # Bytes, not text mode: universal newlines would end a line at a bare "\r", where BuildKit ends lines
        # only at "\n" (a "\r" before it is dropped by the scanner, one elsewhere is blank space in a line).
        return shown or str(path), path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"cannot read the Buildfile {str(path)!r}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the Buildfile {str(path)!r}: {error}") from None


def read_stdin_text() -> str:
    """Standard input as text with its line ends untouched (see `read_buildfile`)."""
    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:  # a replaced stdin that only has text
        return sys.stdin.read()
    try:
        return binary.read().decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"cannot read the Buildfile from standard input: {error}") from None


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


def add_buildfile_arguments(parser: argparse.ArgumentParser) -> None:
    """The options naming what to build, identical for ``build`` and ``outline``: ``-f``, ``--build-arg``,
    ``--target``, ``--platform``."""
    parser.add_argument(
        "-f",
        "--file",
        metavar="FILE",
        help="the Buildfile ('-' reads standard input; default: CONTEXT/Buildfile, else CONTEXT/Dockerfile)",
    )
    parser.add_argument(
        "--build-arg",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="set a build argument (NAME alone takes the value from the environment); repeatable",
    )
    parser.add_argument(
        "--target", metavar="STAGE", help="the stage to build and what it needs (default: the last)"
    )
    parser.add_argument(
        "--platform", metavar="OS/ARCH", help="target platform(s): OS/ARCH[/VARIANT][,…] (default: the host's)"
    )
