"""The ``pybuild`` command line: argument parsing, dispatch, exit codes.

Each subcommand lives in ``builder/commands/<name>.py`` and exposes two functions:

* ``configure(parser: argparse.ArgumentParser) -> None`` adds its options;
* ``run(args: argparse.Namespace) -> int`` does the work and returns the exit code.

Command modules are imported only when their command is chosen, so ``pybuild --help`` and a warm build pay
for no import they do not use. A build is the default action: ``pybuild -f Buildfile .`` is the same as
``pybuild build -f Buildfile .``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Collection

#: subcommand → (module under builder.commands, one-line help). Order is the order ``--help`` shows.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("build", "build an image from a Buildfile (the default command)"),
    "outline": ("outline", "print the stages and instructions of a Buildfile as JSON"),
    "bake": ("bake", "build several images from a bake file or a compose file"),
    "run": ("run", "run a command in a throwaway container of an image"),
    "images": ("images", "list tagged images in the store"),
    "inspect": ("inspect", "show an image's config and manifest as JSON"),
    "history": ("history", "show the layers of an image and what made them"),
    "tag": ("tag", "give an image another name"),
    "rmi": ("rmi", "remove image names from the store"),
    "save": ("save", "write an image to a docker-archive or OCI archive"),
    "load": ("load", "read images from a docker-archive, OCI archive or OCI layout"),
    "import": ("import_", "make a one-layer image from a root filesystem tar or directory"),
    "pull": ("pull", "pull an image from a registry into the store"),
    "push": ("push", "push an image from the store to a registry"),
    "login": ("login", "store credentials for a registry in ~/.docker/config.json"),
    "logout": ("logout", "remove the credentials of a registry"),
    "imagetools": ("imagetools", "make an index from images in a registry (create) or show one (inspect)"),
    "store": ("store", "check the store (verify) or collect its garbage (gc)"),
    "prune": ("prune", "remove unused images' content, build cache and cache mounts"),
    "info": (
        "info",
        "show the runtime, overlay mode, store and user-namespace setup (rootless: subuid ranges)",
    ),
    "version": ("version", "print the version of pybuild"),
    "completion": ("completion", "print a shell completion script (bash or zsh)"),
}


def build_parser(
    commands: dict[str, tuple[str, str]] | None = None, configure: Collection[str] | None = None
) -> argparse.ArgumentParser:
    """The top-level parser. Every command is listed (with the static help text of ``commands``), but only
    those named in ``configure`` get their options, so only their modules are imported; None configures all.
    """
    commands = commands if commands is not None else COMMANDS
    parser = argparse.ArgumentParser(
        prog="pybuild",
        description="Build OCI container images from a Buildfile (the Dockerfile language), no daemon.",
        epilog="With no command, 'build' is assumed: pybuild -f Buildfile -t app:1 .",
    )
    parser.add_argument("--version", action="store_true", help="print the version of pybuild and exit")
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="store directory (default: $PYBUILD_ROOT, else /var/lib/pybuild for root, "
        "else ~/.local/share/pybuild)",
    )
    parser.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="allow plain HTTP to this registry (localhost and 127.0.0.1 always are); repeatable",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in commands.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if configure is None or name in configure:
            importlib.import_module(f"builder.commands.{module_name}").configure(command_parser)
        command_parser.set_defaults(_module=module_name)
    return parser


def _chosen_command(argv: list[str], commands: dict[str, tuple[str, str]]) -> str | None:
    """The command word of ``argv`` (as `_with_default_command` completed it), or None when there is
    none (``pybuild --help``)."""
    global_options_with_value = {"--root", "--insecure-registry"}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in global_options_with_value:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word if word in commands else None
    return None


def _with_default_command(argv: list[str], commands: dict[str, tuple[str, str]]) -> list[str]:
    """Insert ``build`` when the first word is not a command (``pybuild -f F .``)."""
    global_options_with_value = {"--root", "--insecure-registry"}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-h", "--help", "--version"):
            return argv
        if word in global_options_with_value:
            i += 2
            continue
        if word.startswith(("--root=", "--insecure-registry=")):
            i += 1
            continue
        if word in commands:
            return argv
        return [*argv[:i], "build", *argv[i:]]
    return argv


#: Per command, options that are flags when bare: ``option → (its value when bare, the words it takes)``. A
#: bare one never takes the next word (the context) as its value, as buildx's boolean ``--pull`` does; one of
#: its own words after it is still its value (``--pull never .``, as pybuild always accepted).
_BARE_FLAGS = {"build": {"--pull": ("--pull=always", ("always", "missing", "never", "true", "false"))}}


def _bare_flags(argv: list[str], chosen: str | None) -> list[str]:
    """``argv`` with each bare flag of `_BARE_FLAGS` given its value (up to ``--``, after which words are
    arguments)."""
    flags = _BARE_FLAGS.get(chosen or "", {})
    end = argv.index("--") if "--" in argv else len(argv)
    result = []
    for i, word in enumerate(argv):
        bare = flags.get(word) if i < end else None
        takes_next = bare is not None and i + 1 < end and argv[i + 1] in bare[1]
        result.append(bare[0] if bare is not None and not takes_next else word)
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pybuild`` console script. Returns (and exits with) the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = COMMANDS
    if not argv:
        from builder.errors import EXIT_USAGE

        build_parser(commands, configure=()).print_help()
        return EXIT_USAGE
    argv = _with_default_command(argv, commands)
    chosen = _chosen_command(argv, commands)
    argv = _bare_flags(argv, chosen)
    if chosen:  # the other commands' parsers would only be built to be thrown away
        parser = build_parser({chosen: commands[chosen]}, configure=(chosen,))
    else:
        parser = build_parser(commands, configure=())
    args = parser.parse_args(argv)
    if args.version or args.command is None:  # ``pybuild --version``, or only global options
        from builder.commands.version import version_line

        if not args.version:
            parser.print_help()
            return 2
        print(version_line())
        return 0
    # imported once the arguments parsed: --help and usage errors need neither (nor dataclasses, ~8 ms)
    from builder.errors import BuildError, render

    module = importlib.import_module(f"builder.commands.{args._module}")
    try:
        # an ordinary user's pybuild re-executes itself in a user namespace mapped from its subuid ranges;
        # for root this returns at once
        from builder.rootless import enter_namespace_if_needed

        enter_namespace_if_needed(args._module)
        # decided once, here, and passed down: how layers are written in the namespace this process is in
        from builder.layer.form import ROOT_FORM, USER_NAMESPACE_FORM
        from builder.rootless.detect import in_user_namespace

        args.layer_form = USER_NAMESPACE_FORM if in_user_namespace() else ROOT_FORM
        code = module.run(args)
    except BuildError as error:
        from builder.colours import paint_error

        print(paint_error(render(error), sys.stderr, os.environ), file=sys.stderr)
        code = error.exit_code
    except BrokenPipeError:
        # the reader went away (``pybuild inspect X | head -1``): not an error; keep Python quiet at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    except OSError as error:
        # The machine refused something (disk full, permissions, a mount): not a bug, so no traceback.
        detail = f"{error.strerror}: {error.filename}" if error.filename and error.strerror else str(error)
        print(f"error: {detail}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("pybuild: interrupted", file=sys.stderr)
        code = 130
    return code


def entry() -> None:
    """The process entry (``python -m builder``, the console script): `main`, then `exit_process`. Code that
    calls `main` in-process (tests, scripts) gets the exit code back instead."""
    import gc

    # Start-up creates tens of thousands of long-lived objects (modules, classes, functions) and the
    # collector would walk them ~40 times (~7 ms of a cached build); collecting after every 10,000 new
    # objects instead of 700 keeps it to a few passes and holds back at most a few MB of cyclic garbage.
    gc.set_threshold(10_000, 10, 10)
    exit_process(main())


def exit_process(code: int) -> None:
    """End the process with ``code`` once exit handlers have run and output is flushed, skipping the
    interpreter's teardown, which frees every object of every imported module one by one (~25 ms, a tenth
    of a cached build). Falls back to an ordinary exit while a non-daemon thread runs (the interpreter
    would wait for it), under a profiler or tracer (cProfile, coverage: they write their data when the
    program returns), or when flushing fails (a closed pipe: the interpreter reports it as it always does).
    """
    import atexit

    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.exit(code)  # a profiler or coverage tool runs us, and writes its data after we return
    threading = sys.modules.get("threading")
    if threading is not None and any(
        t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()
    ):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        atexit._run_exitfuncs()  # what the interpreter would run first: weakref finalizers, user hooks
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
