"""What `pybuild info` reports: who runs pybuild, the store, runc, the user namespace and the overlay mode.

`report` gathers it from outside any namespace. For an ordinary user the overlay mode can only be known from
inside pybuild's namespace, so it runs ``python -m builder.rootless.probe STORE`` as a child, which enters
the namespace (as every other command does), tries an overlay mount under the store and prints JSON.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import ids
from .detect import in_user_namespace
from .userns import NamespaceError, plan_maps

#: The overlay mode pybuild uses: kernel overlayfs, with ``userxattr`` in a user namespace.
KERNEL = "overlayfs"
KERNEL_USERXATTR = "overlayfs (userxattr)"


def overlay_mode_here(under: Path) -> dict:
    """Try an overlay mount, with the options the runtime uses, in a temp directory under ``under`` (or its
    nearest existing parent: the store's filesystem is what matters); removed afterwards.
    ``{"overlay": mode or None, "error": message or None}``."""
    from builder.runtime.mounts import unmount
    from builder.runtime.overlay import plain_upper_options

    while not under.is_dir() and under != under.parent:
        under = under.parent  # the store may not exist yet: probe the filesystem it will be made on
    with tempfile.TemporaryDirectory(prefix=".pybuild-probe-", dir=under) as scratch:
        base = Path(scratch)
        for name in ("l", "u", "w", "m"):
            (base / name).mkdir()
        options = f"lowerdir={base / 'l'},upperdir={base / 'u'},workdir={base / 'w'},{plain_upper_options()}"
        command = ["mount", "-t", "overlay", "overlay", "-o", options, str(base / "m")]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            return {"overlay": None, "error": done.stderr.strip() or f"mount exited {done.returncode}"}
        unmount(base / "m")
    return {"overlay": KERNEL_USERXATTR if in_user_namespace() else KERNEL, "error": None}


def _runc() -> dict:
    found = shutil.which("runc") or shutil.which("runc", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        return {"path": None, "version": None}
    done = subprocess.run([found, "--version"], capture_output=True, text=True)
    first = done.stdout.splitlines()[0] if done.returncode == 0 and done.stdout else None
    return {"path": found, "version": first}


def _inside_probe(store: Path) -> dict:
    """Run the overlay probe in pybuild's namespace, as a child process."""
    done = subprocess.run(
        [sys.executable, "-m", "builder.rootless.probe", str(store)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    if done.returncode != 0:
        return {"overlay": None, "error": done.stderr.strip() or f"probe exited {done.returncode}"}
    return json.loads(done.stdout)


def report(store: Path) -> dict:
    """Everything `pybuild info` prints, as a JSON-ready dict (see `render` for the readable form)."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    rootless = os.geteuid() != 0
    info: dict = {
        "user": name,
        "uid": uid,
        "rootless": rootless,
        "store": str(store),
        "runc": _runc(),
        "subuid": [str(r) for r in ids.subordinate_ranges(name, uid, ids.SUBUID_FILE)],
        "subgid": [str(r) for r in ids.subordinate_ranges(name, uid, ids.SUBGID_FILE)],
        "namespace": None,
        "namespace_error": None,
        "namespace_hint": None,
    }
    if rootless:
        try:
            mode, uid_map, _gid_map = plan_maps()
            info["namespace"] = {"mode": mode, "container_ids": ids.map_size(uid_map)}
        except NamespaceError as error:
            info["namespace_error"], info["namespace_hint"] = error.message, error.hint
        probe = _inside_probe(store) if info["namespace"] else {"overlay": None, "error": "no user namespace"}
    else:
        probe = overlay_mode_here(store / "tmp")
    info["overlay"], info["overlay_error"] = probe["overlay"], probe["error"]
    info["builds"] = bool(info["overlay"] and info["runc"]["path"])
    return info


def render(info: dict) -> str:
    """The readable form of a `report`."""
    lines = [
        f"user:        {info['user']} (uid {info['uid']}){', rootless' if info['rootless'] else ''}",
        f"store:       {info['store']}",
        f"runtime:     {info['runc']['version'] or 'runc'} ({info['runc']['path']})"
        if info["runc"]["path"]
        else "runtime:     runc not found (apt-get install runc)",
    ]
    if info["rootless"]:
        lines.append(f"subuid:      {', '.join(info['subuid']) or 'none'}")
        lines.append(f"subgid:      {', '.join(info['subgid']) or 'none'}")
        namespace = info["namespace"]
        if namespace:
            ids_text = f"container ids 0-{namespace['container_ids'] - 1}"
            single = " (single id: no chown to other users)" if namespace["mode"] == "single" else ""
            lines.append(f"user ns:     {namespace['mode']}, {ids_text}{single}")
        else:
            lines.append(f"user ns:     unavailable: {info['namespace_error']}")
            lines += [f"             {line.strip()}" for line in (info["namespace_hint"] or "").splitlines()]
    overlay = info["overlay"] or f"unavailable ({info['overlay_error']})"
    lines.append(f"overlay:     {overlay}")
    lines.append(f"builds:      {'yes' if info['builds'] else 'no'}")
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    """Inside part of `report`: enter the namespace, then print the overlay probe's JSON."""
    if os.geteuid() != 0:
        from .userns import reexec_in_namespace

        reexec_in_namespace([sys.executable, "-m", "builder.rootless.probe", *argv])
    print(json.dumps(overlay_mode_here(Path(argv[0]) / "tmp")))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
