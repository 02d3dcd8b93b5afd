"""`LayerForm`: what the host lets the layer code write, told by its callers rather than asked of the process.

Inside a user namespace (`builder.rootless`, an ordinary user's build) two things differ: overlayfs is mounted
with ``userxattr``, so an opaque directory is marked ``user.overlay.opaque`` (``trusted.`` xattrs cannot be
set there), and device nodes cannot be made, so a layer's device entries are skipped, as Docker's rootless
unpacking skips them (a container gets its devices from the runtime's /dev, never from the image).

Decided once where pybuild starts — the CLI after entering its namespace, the Python API — and passed down:
to `builder.store.Store.open` (whose layers are in this form), and by the runtime, which knows the namespace
it runs containers in.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.layer.whiteouts import XATTR_OPAQUE, XATTR_OPAQUE_USER


@dataclass(frozen=True)
class LayerForm:
    """``user_namespace``: layers are written by a process in a user namespace (see the module docstring)."""

    user_namespace: bool = False

    @property
    def opaque_xattr(self) -> str:
        """The xattr overlayfs reads as a directory's opaque mark here."""
        return XATTR_OPAQUE_USER if self.user_namespace else XATTR_OPAQUE

    @property
    def skips_devices(self) -> bool:
        """Whether a device node that cannot be made is skipped (else the refusal is an error)."""
        return self.user_namespace


#: Root outside any user namespace: ``trusted.`` xattrs, device nodes made.
ROOT_FORM = LayerForm(user_namespace=False)
#: A process in a user namespace: ``user.`` xattrs, device nodes skipped.
USER_NAMESPACE_FORM = LayerForm(user_namespace=True)
