"""An OCI layout written into a directory so that a failure leaves nothing partial.

A new directory is filled under a temp name beside it and renamed into place when complete. Into an existing
layout (whose index keeps its other entries) the files are written in place, ``index.json`` last; a failure
removes the files this export added, so the layout is as it was. A full disk names the directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from builder import diskfull
from builder.oci.archive import DirSink


def write_layout_dir(dest: Path, write: Callable[[DirSink], object]) -> None:
    """Call ``write(sink)`` with a `DirSink` for the layout at ``dest``; see the module docstring."""
    dest = Path(dest)
    with diskfull.naming(f"the OCI layout {dest}"):
        if dest.is_dir():
            sink = DirSink(dest)
            try:
                write(sink)
            except BaseException:
                for path in reversed(sink.added):
                    if path.is_dir() and not path.is_symlink():
                        path.rmdir()  # made by this export, emptied by the files removed before it
                    else:
                        path.unlink(missing_ok=True)
                raise
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
        try:
            os.chmod(tmp, 0o755)
            write(DirSink(tmp))
            os.rename(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
