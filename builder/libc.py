"""The C library, for the few system calls Python's os module lacks (syncfs, renameat2, umount2).

Loaded on first use: importing ctypes and opening libc costs ~2 ms, which a fully cached build, making
none of these calls, should not pay.
"""

from __future__ import annotations

_libc = None


def libc():
    """The process's C library (``ctypes.CDLL(None)``, errno kept), loaded once."""
    global _libc
    if _libc is None:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def last_errno() -> int:
    """The errno left by the last call made through `libc` in this thread."""
    import ctypes

    return ctypes.get_errno()
