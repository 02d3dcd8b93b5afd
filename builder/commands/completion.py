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
    print(shtab.complete(parser, shell=args.shell))
    return 0
