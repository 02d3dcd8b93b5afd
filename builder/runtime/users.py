"""USER resolution against a rootfs's /etc/passwd and /etc/group, with BuildKit's (runc's) rules.

- ``""`` is ``0``: root, looked up as below; so is an empty user part (``:5``).
- ``uid:gid`` (both numeric) is taken as is: no lookup.
- ``name`` or ``uid``: the first passwd entry with that name (or, if numeric, that uid) gives uid, primary
  gid and the user name; the supplementary groups are the primary gid and the groups listing that name as
  a member. A numeric uid without an entry runs with gid 0; a name without one is an error.
- ``user:group`` with a non-numeric part: the user as above, the group looked up by name (or gid when
  numeric; a numeric gid need not exist); the group is the only supplementary group.

BuildKit v0.13 always passes the primary gid among the supplementary groups (``id`` shows
``groups=1234(app),3000(extra)``), so ``additional_gids`` starts with it.

``--chown`` of COPY/ADD and the owner of a WORKDIR are resolved by `chown_ids`, with the same reader but
BuildKit's more lenient rules. Both read passwd and group as runc's parser does: a uid or gid field
that is not a number counts as 0, a short line lacks the fields it does not have, nothing raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuildError
from builder.fsops.rootpath import resolve_in_root

_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class ResolvedUser:
    """Numeric identity of the step's process; ``additional_gids`` in /etc/group order."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()


class UserLookupError(BuildError):
    """USER names a user or group that the image does not define."""


def _numeric(text: str) -> int | None:
    if text.isascii() and text.isdigit():
        return int(text)
    return None


def read_entries(rootfs: Path, name: str) -> list[list[str]]:
    """Colon-separated fields of each non-empty, non-comment line of the rootfs's ``name`` (resolved inside
    it); [] if it does not exist or is not a regular file."""
    try:
        with open(resolve_in_root(rootfs, name), encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    return [line.strip().split(":") for line in lines if line.strip() and not line.startswith("#")]


def _field_int(fields: list[str], index: int) -> int | None:
    return _numeric(fields[index]) if len(fields) > index else None


def _check_range(value: int, what: str, spec: str) -> int:
    if value > _MAX_ID:
        raise UserLookupError(f"{what} {value} of user {spec!r} is out of range")
    return value


def resolve_user(rootfs: Path, spec: str) -> ResolvedUser:
    """Resolve USER ``spec`` as described in the module docstring. Raises UserLookupError."""
    found = _resolve(rootfs, spec or "0")
    groups = tuple(dict.fromkeys((found.gid, *found.additional_gids)))
    return ResolvedUser(found.uid, found.gid, groups)


def _resolve(rootfs: Path, spec: str) -> ResolvedUser:
    """The ids of ``spec`` with the member groups only (`resolve_user` adds the primary gid)."""
    user_arg, _, group_arg = spec.partition(":")
    user_arg = user_arg or "0"  # ``:5`` is root with group 5, as BuildKit v0.13 runs it
    uid_arg, gid_arg = _numeric(user_arg), _numeric(group_arg)
    if uid_arg is not None and gid_arg is not None:
        return ResolvedUser(_check_range(uid_arg, "uid", spec), _check_range(gid_arg, "gid", spec))

    uid, gid, matched_name = 0, 0, ""
    for fields in read_entries(rootfs, "/etc/passwd"):
        entry_uid = _field_int(fields, 2)
        if (uid_arg is not None and entry_uid == uid_arg) or (uid_arg is None and fields[0] == user_arg):
            matched_name = fields[0]
            uid = entry_uid if entry_uid is not None else 0
            gid = _field_int(fields, 3) or 0
            break
    else:
        if uid_arg is None:
            raise UserLookupError(f"unable to find user {user_arg}: no matching entries in passwd file")
        uid = _check_range(uid_arg, "uid", spec)

    if not group_arg and not matched_name:
        return ResolvedUser(uid, gid)
    groups = read_entries(rootfs, "/etc/group")
    if group_arg:
        for fields in groups:
            entry_gid = _field_int(fields, 2)
            if (gid_arg is not None and entry_gid == gid_arg) or (gid_arg is None and fields[0] == group_arg):
                return ResolvedUser(uid, entry_gid if entry_gid is not None else 0)
        if gid_arg is None:
            raise UserLookupError(f"unable to find group {group_arg}: no matching entries in group file")
        return ResolvedUser(uid, _check_range(gid_arg, "gid", spec))
    additional = []
    for fields in groups:
        members = fields[3].split(",") if len(fields) > 3 else []
        if matched_name in members:
            additional.append(_field_int(fields, 2) or 0)
    return ResolvedUser(uid, gid, tuple(additional))


def chown_ids(rootfs: Path, spec: str) -> tuple[int, int]:
    """``--chown=user[:group]`` as BuildKit v0.13 resolves it in the destination image: a numeric user
    without a group also gives the gid; a named user gives its passwd uid and gid; a user name that is not
    found counts as 0 (BuildKit does not complain); a numeric group is taken as is, a named one looked up,
    and a group name that is not found leaves the gid the user gave (``nobody:nosuchgroup`` is 65534:65534)."""
    user, colon, group = spec.partition(":")
    uid_arg = _numeric(user)
    uid = gid = uid_arg if uid_arg is not None else 0
    if uid_arg is None:
        for fields in read_entries(rootfs, "/etc/passwd"):
            if fields[0] == user:
                uid, gid = _field_int(fields, 2) or 0, _field_int(fields, 3) or 0
                break
    if colon and not group:  # ``7:`` and ``app:`` name group 0, as BuildKit v0.13 reads them
        gid = 0
    elif group:
        gid_arg = _numeric(group)
        if gid_arg is not None:
            gid = gid_arg
        else:
            found = (f for f in read_entries(rootfs, "/etc/group") if f[0] == group)
            gid = next((_field_int(f, 2) or 0 for f in found), gid)
    return uid, gid
