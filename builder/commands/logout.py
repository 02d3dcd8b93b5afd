"""``pybuild logout [REGISTRY]``: forget the credentials filed for a registry (default: Docker Hub)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "registry", nargs="?", default="docker.io", metavar="REGISTRY", help="default: Docker Hub"
    )


def run(args: argparse.Namespace) -> int:
    from builder.registry import credentials
    from builder.registry.names import endpoint, normalize_domain

    target = endpoint(normalize_domain(args.registry))
    if credentials.erase(target.auth_key):
        print(f"Removing login credentials for {target.auth_key}")
    else:
        print(f"Not logged in to {target.auth_key}")
    return 0
