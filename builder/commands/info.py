"""``pybuild info``: how pybuild would build here — user, store, runtime, user namespace, overlay mode.

For an ordinary user it says which subordinate id ranges /etc/subuid and /etc/subgid grant, whether pybuild
can enter its user namespace (and, if not, what to add), and which overlay mode works inside it. The overlay
mode is kernel overlayfs, fuse-overlayfs or copy: the one ``PYBUILD_OVERLAY`` forces (probed, so a refusal
shows here), or the first that works, with why each one before it was refused. It runs
outside the namespace itself, so it also works where builds cannot. ``--json`` prints the same as JSON.
Exit status 0 when builds can run here, 1 otherwise.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from builder.runtime.probe import render, report
    from builder.store.store import default_root

    info = report(Path(args.root) if args.root else default_root())
    print(json.dumps(info, indent=2) if args.json else render(info))
    return 0 if info["builds"] else 1
