"""Resolving container paths inside a rootfs on the host: `builder.rootpath`, re-exported for the runtime."""

from builder.rootpath import resolve_in_root

__all__ = ["resolve_in_root"]
