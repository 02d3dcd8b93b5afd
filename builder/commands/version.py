"""``pybuild version`` (and ``pybuild --version``): print the version of the installed pybuild.

The version is the package's own (``builder.__version__``), which is also the version in the wheel's
metadata (pyproject.toml reads it from there), so an installed pybuild and its metadata always agree.
"""

from __future__ import annotations

import argparse


def version_line() -> str:
    """``pybuild version X.Y.Z``, the line both spellings print."""
    from builder.version import __version__

    return f"pybuild version {__version__}"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(version_line())
    return 0
