"""A full disk, said in words: which blob or file did not fit, instead of a bare ``[Errno 28]``."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from builder.errors import BuildError

#: The errors that mean "no room": the file system is full, or the user's quota is.
FULL = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def naming(what: str, *, hint: str | None = None) -> Iterator[None]:
    """Turn a full disk inside the block into a `BuildError` naming ``what`` (``blob sha256:… in the store
    at /var/lib/pybuild``, ``/out/app.tar``); every other error passes unchanged."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in FULL:
            raise
        raise BuildError(f"no space left on device for {what}", hint=hint) from None
