"""Who owns the files a step creates (COPY --chown, WORKDIR)."""

from __future__ import annotations

from pathlib import Path

from builder import runtime
from builder.instructions import copy as copy_ins


def file_owner(rootfs: Path, spec: str) -> copy_ins.Ownership:
    """The owner of files a COPY --chown or WORKDIR creates: Docker's rule, where a user given without a
    group also gives its numeric uid as the gid (unlike USER for processes, which takes the passwd group)."""
    if not spec:
        return copy_ins.Ownership(0, 0)
    user_part, _, group_part = spec.partition(":")
    uid = runtime.resolve_user(rootfs, user_part).uid
    gid = runtime.resolve_user(rootfs, f"{user_part}:{group_part}").gid if group_part else uid
    return copy_ins.Ownership(uid, gid)
