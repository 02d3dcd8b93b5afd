"""What `pybuild info` reports: who runs pybuild, the store, runc, the user namespace and the overlay mode
(kernel overlayfs, fuse-overlayfs or copy; forced by ``PYBUILD_OVERLAY`` or chosen, with why the modes
passed over were refused).

`report` gathers it from outside any namespace. For an ordinary user the overlay mode can only be known from
inside pybuild's namespace, so it runs ``python -m builder.runtime.probe STORE`` as a child, which enters
the namespace (as every other command does), tries an overlay mount under the store and prints JSON.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from builder.rootless import ids
from builder.rootless.userns import NamespaceError, plan_maps


def runtime_state(store: Path) -> Path:
    """Where the runtime makes its run directories in ``store`` (`Store.state_dir("runtime")`), so the probe
    mounts where builds mount; not created here."""
    return store / "state" / "runtime"


def overlay_mode_here(under: Path) -> dict:
    """The overlay mode mounts under ``under`` would use (see `builder.runtime.overlaymode`), probed as the
    runtime probes it — under ``under`` or its nearest existing parent, removed afterwards — and a forced
    mode probed too, so a refusal shows here rather than at the first step.

    ``{"overlay": shown or None, "error": why not or None, "mode": ..., "forced": ..., "refused": {...}}``;
    ``overlay`` reads like ``fuse-overlayfs (overlayfs refused: ...)``.
    """
    from builder.errors import BuildError

    from . import overlaymode

    try:
        choice = overlaymode.choose(under)
    except BuildError as error:
        return {"overlay": None, "error": error.message, "mode": None, "forced": False, "refused": {}}
    found = {"mode": choice.mode, "forced": choice.forced, "refused": dict(choice.refused)}
    probes = {overlaymode.KERNEL: overlaymode.probe_kernel, overlaymode.FUSE: overlaymode.probe_fuse}
    if choice.forced and choice.mode in probes:
        why = probes[choice.mode](under)
        if why is not None:
            return {
                **found,
                "overlay": None,
                "error": f"{choice.mode} (forced by {overlaymode.VARIABLE}): {why}",
            }
    return {**found, "overlay": choice.describe(), "error": None}


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
        [sys.executable, "-m", "builder.runtime.probe", str(store)],
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
        probe = overlay_mode_here(runtime_state(store))
    info["overlay"], info["overlay_error"] = probe["overlay"], probe["error"]
    # the mode alone, whether PYBUILD_OVERLAY forced it, and why the automatic choice passed others over
    info["overlay_mode"] = probe.get("mode") if probe["overlay"] else None
    info["overlay_forced"] = bool(probe.get("forced"))
    info["overlay_refused"] = probe.get("refused") or {}
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
        from builder.rootless.userns import reexec_in_namespace

        reexec_in_namespace([sys.executable, "-m", "builder.runtime.probe", *argv])
    print(json.dumps(overlay_mode_here(runtime_state(Path(argv[0])))))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
