"""``pybuild completion bash|zsh``: print a completion script for the shell, made by shtab from the same
argparse parsers the commands use (so it never falls behind an option).

Install: ``pybuild completion bash > /etc/bash_completion.d/pybuild``, or for zsh
``pybuild completion zsh > "${fpath[1]}/_pybuild"``.
"""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete for")


def run(args: argparse.Namespace) -> int:
    import shtab

    from builder.cli import build_parser

    parser = build_parser()  # every command configured: the script completes all of their options
    _mark_paths(parser, shtab)
    print(shtab.complete(parser, shell=args.shell))
    return 0


#: options (and positionals, by dest) whose values are paths: files, else directories
_FILES = {"file", "iidfile", "metadata_file", "input", "output_file"}
_DIRECTORIES = {"context", "root"}


def _mark_paths(parser: argparse.ArgumentParser, shtab) -> None:
    """Let the shell complete file and directory names where an option takes one (shtab's ``complete``)."""
    for action in parser._actions:  # argparse has no public walk of its actions
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_paths(sub, shtab)
        elif action.dest in _FILES:
            action.complete = shtab.FILE
        elif action.dest in _DIRECTORIES:
            action.complete = shtab.DIRECTORY
