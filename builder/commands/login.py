"""``pybuild login [-u USER] [-p PASSWORD | --password-stdin] [REGISTRY]``: check credentials against a
registry and file them in Docker's ``config.json`` (or its credential helper), as ``docker login`` does.

``REGISTRY`` defaults to Docker Hub. Missing user name or password are asked for on the terminal; without a
terminal they must be given. The credentials are verified first (the registry's ``/v2/`` with Basic auth,
or a token from its token server); refused ones are not saved.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "registry", nargs="?", default="docker.io", metavar="REGISTRY", help="default: Docker Hub"
    )
    parser.add_argument("-u", "--username", help="user name")
    parser.add_argument("-p", "--password", help="password or token (prefer --password-stdin)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def _ask(prompt: str, secret: bool) -> str:
    import getpass
    import sys

    from builder.errors import UsageError

    if not sys.stdin.isatty():
        raise UsageError(f"cannot ask for the {prompt.lower().rstrip(': ')}: standard input is not a terminal")
    return getpass.getpass(prompt) if secret else input(prompt)


def run(args: argparse.Namespace) -> int:
    import sys

    from builder.errors import UsageError
    from builder.registry import credentials
    from builder.registry.client import RegistryClient
    from builder.registry.names import normalize_domain
    from builder.registry.options import RegistryOptions

    if args.password and args.password_stdin:
        raise UsageError("--password and --password-stdin are mutually exclusive")
    if args.password_stdin and not args.username:
        raise UsageError("--password-stdin needs --username")
    password = args.password
    if args.password:
        print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", file=sys.stderr)
    elif args.password_stdin:
        password = sys.stdin.read().rstrip("\r\n")
    username = args.username or _ask("Username: ", secret=False)
    if password is None:
        password = _ask("Password: ", secret=True)
    if not username or not password:
        raise UsageError("login needs a user name and a password")
    creds = credentials.Credentials(username, password)
    registry = RegistryOptions.of(args.insecure_registry)
    with RegistryClient(normalize_domain(args.registry), credentials=creds, options=registry) as client:
        client.ping()
        client.auth.check_login()
        where = credentials.store(client.endpoint.auth_key, creds)
    print(f"Credentials saved in {where}", file=sys.stderr)
    print("Login Succeeded")
    return 0
