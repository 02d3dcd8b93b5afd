"""Which device nodes a layer may hold: only the harmless ones every container gets anyway.

A block or character device in an image is a handle on the machine that unpacks it (``dev/sda``, ``mem``),
so pybuild refuses them wherever a layer is made or applied (issue 9; BuildKit and Docker keep them). The
exception are the devices the OCI runtime spec gives every container (``null``, ``zero``, ``full``,
``random``, ``urandom``, ``tty``, ``console``, ``ptmx``, all character devices): real-world rootfs tars
carry them in ``dev/``, and they grant nothing a container does not already have. FIFOs are not devices and
are always allowed. An overlayfs whiteout is a 0/0 character device on disk but never a device entry in a
layer tar (it is a ``.wh.`` name there), so a 0/0 device entry in a tar is refused like any other.
"""

from __future__ import annotations

import os
import stat

from builder.layer.errors import LayerError

#: (major, minor) → name of the character devices of the OCI runtime spec's default set.
STANDARD_DEVICES: dict[tuple[int, int], str] = {
    (1, 3): "null",
    (1, 5): "zero",
    (1, 7): "full",
    (1, 8): "random",
    (1, 9): "urandom",
    (5, 0): "tty",
    (5, 1): "console",
    (5, 2): "ptmx",
}

_ALLOWED = ", ".join(STANDARD_DEVICES.values())
_HINT = "a container gets its devices from the runtime, not from its image: remove the node first"


def device_refusal(kind: int, major: int, minor: int) -> str | None:
    """Why a node of file type ``kind`` (``stat.S_IFCHR``, ``S_IFBLK`` or ``S_IFIFO``) with these device
    numbers may not be in a layer — ``"block device 8:0 refused: …"`` — or None when it may."""
    if kind == stat.S_IFCHR and (major, minor) in STANDARD_DEVICES:
        return None
    if kind not in (stat.S_IFCHR, stat.S_IFBLK):
        return None
    what = "character" if kind == stat.S_IFCHR else "block"
    reason = f"{what} device {major}:{minor} refused: a layer may hold only the standard devices ({_ALLOWED})"
    if kind == stat.S_IFCHR and (major, minor) == (0, 0):
        reason += "; a whiteout is a .wh. entry in a layer tar, never a device"
    return reason


def check_node(name: bytes, mode: int, rdev: int) -> None:
    """Raise LayerError, naming ``/name``, if the node at ``name`` (a path relative to the tree being made
    into a layer, lstat'ed as ``mode`` and ``rdev``) is a device a layer may not hold. The layer writer calls
    this for device nodes that are not overlay whiteouts, so a step cannot make a layer pybuild would refuse
    to apply."""
    reason = device_refusal(stat.S_IFMT(mode), os.major(rdev), os.minor(rdev))
    if reason is not None:
        raise LayerError(f"/{os.fsdecode(name)}: {reason}", hint=_HINT)
