"""Rootless builds: pybuild run by an ordinary user, in a user namespace of its own.

Run as a user other than root, pybuild re-executes itself in a new user and mount namespace where it is
uid 0 over the user's subordinate ids (see `userns`). Everything else then runs as it does for root, with
three differences the rest of the code asks `detect.in_user_namespace` about: overlayfs is mounted with
``userxattr`` (its markers are ``user.overlay.*``), runc runs with ``--rootless true`` and binds /sys
instead of mounting it, and device nodes in base images cannot be made (they are skipped, as Docker does).

Interface (this module is imported on every CLI start, so it imports nothing heavy)::

    enter_namespace_if_needed(command) -> None
        For an unprivileged process: re-exec the current command line in pybuild's namespace (never
        returns) unless ``command`` (the CLI command module name) works without one. For root, or inside
        the namespace already: returns at once. Raises NamespaceError (a UsageError) with what to add to
        /etc/subuid and /etc/subgid when the user has no subordinate ids.

    detect.in_user_namespace() -> bool
    ids.subordinate_ranges(name, uid, path) -> list[IdRange]
"""

from __future__ import annotations

import os
import sys

#: Commands that run outside the namespace: ``info`` reports on it (and works without subordinate ids).
OUTSIDE_COMMANDS = frozenset({"info"})


def enter_namespace_if_needed(command: str | None = None) -> None:
    """Re-exec into pybuild's user namespace when not root (see the module docstring)."""
    if os.geteuid() == 0 or command in OUTSIDE_COMMANDS:
        return
    from .userns import reexec_in_namespace

    reexec_in_namespace([sys.executable, *sys.orig_argv[1:]])
