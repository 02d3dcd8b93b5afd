"""``pybuild run [--rm] [-e K=V] [--entrypoint E] [--platform P] IMAGE [CMD...]``: run an image.

It runs in a throwaway container, the same kind a RUN step gets (runc on an overlay of the image's layers);
its ENTRYPOINT and CMD, USER, WORKDIR and ENV apply as ``docker run`` applies them. Whatever the process
writes is discarded afterwards (``--rm`` is accepted for familiarity: every run is removed). Exits with the
process's status.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rm", action="store_true", help="remove the container afterwards (always done)")
    parser.add_argument(
        "-e", "--env", action="append", default=[], metavar="K=V", help="set an environment variable"
    )
    parser.add_argument("--entrypoint", metavar="CMD", help="override the image's ENTRYPOINT")
    parser.add_argument("-u", "--user", metavar="USER", help="run as USER (name, uid, name:group, uid:gid)")
    parser.add_argument("-w", "--workdir", metavar="DIR", help="working directory inside the container")
    parser.add_argument("--network", default="host", choices=("host", "none"), help="network (default: host)")
    parser.add_argument(
        "--platform",
        metavar="OS/ARCH",
        help="of a multi-platform image, run this platform's (default: the host's)",
    )
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD", help="command and arguments")


def container_argv(config: dict, entrypoint: str | None, command: list[str]) -> list[str]:
    """docker run's rule: ENTRYPOINT (or ``--entrypoint``) followed by CMD (or the command given).
    ``--entrypoint`` given clears the image's CMD unless a command is given too."""
    ep = [entrypoint] if entrypoint else list(config.get("Entrypoint") or [])
    if command:
        cmd = list(command)
    elif entrypoint:
        cmd = []
    else:
        cmd = list(config.get("Cmd") or [])
    return ep + cmd


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from builder import emulation, runtime
    from builder.errors import UsageError
    from builder.instructions.workdir import clean as clean_workdir
    from builder.oci.image import load_image
    from builder.platforms import Platform
    from builder.store import Store

    platform = Platform.parse(args.platform) if args.platform else None
    with Store.open(args.root, form=args.layer_form) as store:
        image = load_image(store, args.image, platform=platform)
        # A foreign image runs through a binfmt handler, as its RUN steps did; without one, say so up front.
        emulation.require(image.platform)
        config = image.config.get("config") or {}
        argv = container_argv(config, args.entrypoint, args.command)
        if not argv:
            raise UsageError(f"no command given and {args.image} has no ENTRYPOINT or CMD")
        env = list(config.get("Env") or [])
        for entry in args.env:
            key = entry.partition("=")[0]
            if "=" not in entry:
                if key not in os.environ:
                    continue
                entry = f"{key}={os.environ[key]}"
            env = [e for e in env if e.partition("=")[0] != key] + [entry]
        spec = runtime.ProcessSpec(
            args=argv,
            env=env,
            # WorkingDir may keep a trailing slash or ``..`` as written (BuildKit records it so): run in the
            # directory it names
            cwd=clean_workdir(args.workdir or config.get("WorkingDir") or "/"),
            user=args.user if args.user is not None else config.get("User") or "",
            network=args.network,
            hostname=image.id[7:19],
        )
        lowers = [store.layer_path(d) for d in reversed(image.diff_ids)]
        state_dir = store.state_dir("runtime")
        upper = store.staging_dir()
        out = sys.stdout.buffer

        def output(chunk: bytes) -> None:
            out.write(chunk)
            out.flush()

        try:
            return runtime.run_step(lowers, upper, spec, state_dir=state_dir, output=output)
        finally:
            store.discard_staging(upper)
