"""Entering pybuild's user namespace: an ordinary user becomes root over a range of subordinate ids.

`reexec_in_namespace` turns the calling process (single-threaded, not root) into the same command running in
a new user namespace and mount namespace: container uid 0 is the user, uids 1..N the user's /etc/subuid
ranges (gids likewise from /etc/subgid). The kernel only lets a privileged helper write such a map, which is
what Debian's ``newuidmap``/``newgidmap`` (package uidmap, setuid root) are for:

1. fork a helper, which waits;
2. the process calls ``unshare(CLONE_NEWUSER | CLONE_NEWNS)``;
3. the helper runs ``newuidmap PID 0 UID 1 1 START COUNT ...`` and ``newgidmap`` alike, then exits;
4. the process becomes uid/gid 0 in the namespace, makes its mounts private (nothing it mounts may
   propagate back to the host), and execs itself with `MARKER` set in the environment.

The exec keeps the pid, so signals sent to pybuild (Ctrl-C, a CI runner's SIGTERM) reach it unchanged, and
its exit status is the command's. Inside, files written as container uid N are owned on the host by the
mapped id: layer tars, read back inside, record N.

Without subordinate ranges the user can still map just itself (``0 UID 1``, no helper needed) when
``PYBUILD_USERNS=single`` is set: every file is then owned by root in the container and any other owner
(``chown``, ``COPY --chown``, a base image with files of other users) fails.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from builder.errors import UsageError

from . import ids

#: Set (to ``subid`` or ``single``) in the environment of the process re-executed in the namespace.
MARKER = "PYBUILD_IN_USERNS"
#: ``single`` asks for the single-id mapping when the user has no subordinate ids; ``auto`` (default)
#: uses the ranges and refuses without them.
MODE_VARIABLE = "PYBUILD_USERNS"

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18
_libc = ctypes.CDLL(None, use_errno=True)


class NamespaceError(UsageError):
    """The user namespace cannot be set up; the message says what to change."""


def missing_ranges_message(user: str, uid_ranges: list, gid_ranges: list) -> tuple[str, str]:
    """``(message, hint)`` for a user without subordinate ids (``uid_ranges``/``gid_ranges`` as found)."""
    missing = [name for name, found in (("/etc/subuid", uid_ranges), ("/etc/subgid", gid_ranges)) if not found]
    message = f"rootless builds need subordinate ids, and {' and '.join(missing)} give none to user {user!r}"
    hint = (
        "ask an administrator to run: "
        f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}\n"
        f"  (or to add the line '{user}:100000:65536' to both files; any free range of 65536 ids will do).\n"
        f"  Or set {MODE_VARIABLE}=single to build with one id only: every file is then owned by root, and a\n"
        "  chown to another user, COPY --chown or a base image with files of other users fails."
    )
    return message, hint


def plan_maps() -> tuple[str, list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """``(mode, uid map, gid map)`` for this user: mode ``subid`` with the subordinate ranges, or ``single``
    when asked for by `MODE_VARIABLE`. NamespaceError when there are no ranges and single was not asked."""
    uid, gid = os.getuid(), os.getgid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    if os.environ.get(MODE_VARIABLE, "auto") == "single":
        return "single", ids.id_map(uid, []), ids.id_map(gid, [])
    uid_ranges = ids.subordinate_ranges(name, uid, ids.SUBUID_FILE)
    gid_ranges = ids.subordinate_ranges(name, uid, ids.SUBGID_FILE)
    if not uid_ranges or not gid_ranges:
        message, hint = missing_ranges_message(name, uid_ranges, gid_ranges)
        raise NamespaceError(message, hint=hint)
    return "subid", ids.id_map(uid, uid_ranges), ids.id_map(gid, gid_ranges)


def _helper_binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    if found is None:
        raise NamespaceError(f"{name} is not installed (Debian/Ubuntu: apt-get install uidmap)")
    return found


def _map_command(binary: str, pid: int, lines: list[tuple[int, int, int]]) -> list[str]:
    return [binary, str(pid), *(str(n) for line in lines for n in line)]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise NamespaceError(f"{what} failed: {os.strerror(err)}" + _userns_hint(err))


def _userns_hint(err: int) -> str:
    for knob in ("/proc/sys/kernel/unprivileged_userns_clone", "/proc/sys/user/max_user_namespaces"):
        try:
            if Path(knob).read_text().strip() == "0":
                return f" ({knob} is 0: user namespaces are disabled on this host)"
        except OSError:
            pass
    return ""


def _write_single_maps(uid: int, gid: int) -> None:
    # An unprivileged process may map its own ids, gid only after giving up setgroups.
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1\n")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1\n")


def _write_maps_with_helper(uid_lines, gid_lines) -> None:
    """Unshare, and have a forked helper write our maps through newuidmap/newgidmap."""
    commands = (_helper_binary("newuidmap"), _helper_binary("newgidmap"))
    parent = os.getpid()
    go_read, go_write = os.pipe()
    err_read, err_write = os.pipe()
    child = os.fork()
    if child == 0:  # the helper: stays in the initial namespace, where newuidmap may act on the parent
        code = 1
        try:
            os.close(go_write)
            os.close(err_read)
            if os.read(go_read, 1) == b"1":
                for command in (
                    _map_command(commands[0], parent, uid_lines),
                    _map_command(commands[1], parent, gid_lines),
                ):
                    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True)
                    if done.returncode != 0:
                        said = done.stderr.decode(errors="replace")
                        os.write(err_write, f"{' '.join(command)}: {said}".encode())
                        break
                else:
                    code = 0
        finally:
            os._exit(code)
    os.close(go_read)
    os.close(err_write)
    try:
        unshared = _libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS) == 0
        failure = ctypes.get_errno()
        os.write(go_write, b"1" if unshared else b"0")
    finally:
        os.close(go_write)
    message = os.read(err_read, 65536).decode(errors="replace").strip()
    os.close(err_read)
    _, status = os.waitpid(child, 0)
    if not unshared:
        raise NamespaceError(f"unshare(CLONE_NEWUSER) failed: {os.strerror(failure)}" + _userns_hint(failure))
    if os.waitstatus_to_exitcode(status) != 0:
        raise NamespaceError(f"setting up the user namespace's id map failed: {message or 'newuidmap failed'}")


def reexec_in_namespace(argv: list[str]) -> None:
    """Enter pybuild's user and mount namespace and exec ``argv`` there; never returns on success.

    Must be called before any thread is started (the kernel refuses ``unshare`` of a user namespace to a
    multi-threaded process). ``argv[0]`` is looked up on PATH when it has no slash. Raises NamespaceError
    (a UsageError, so the CLI prints it without a traceback) when the namespace cannot be made.
    """
    mode, uid_lines, gid_lines = plan_maps()
    uid, gid = os.getuid(), os.getgid()
    sys.stdout.flush()
    sys.stderr.flush()
    if mode == "single":
        _check(_libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "unshare(CLONE_NEWUSER)")
        _write_single_maps(uid, gid)
    else:
        _write_maps_with_helper(uid_lines, gid_lines)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    # Mounts made inside must never reach the host's namespace.
    _check(_libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "making mounts private")
    env = dict(os.environ)
    env[MARKER] = mode
    # Inside, pybuild is uid 0 and would pick root's store; the user's own stays the default.
    if not env.get("PYBUILD_ROOT"):
        env["PYBUILD_ROOT"] = str(Path.home() / ".local" / "share" / "pybuild")
    os.execvpe(argv[0], argv, env)
