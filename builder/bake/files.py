"""Which bake files are read, and their merge into one `Config`.

Without ``-f``, buildx v0.13 reads whichever of `DEFAULT_FILES` exist in the working directory, in that order
(compose's names first, then the bake files; its ``defaultFilenames``); with ``-f`` the files given, in the
order given (``-`` is stdin), each of which must exist. Compose files (``.yml``/``.yaml``) are read as compose;
the others as HCL, or as JSON when they end in ``.json``. Compose targets come first, then HCL/JSON ones merged
over them, as buildx merges them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from builder.bake.model import Config
from builder.errors import UsageError

DEFAULT_FILES = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "docker-bake.json",
    "docker-bake.override.json",
    "docker-bake.hcl",
    "docker-bake.override.hcl",
)


def read_files(names: list[str], cwd: Path, stdin: BinaryIO | None) -> list[tuple[str, str]]:
    """(name as given, text) of each bake file; the defaults found in ``cwd`` when ``names`` is empty."""
    if not names:
        found = [(name, (cwd / name).read_text()) for name in DEFAULT_FILES if (cwd / name).is_file()]
        if not found:
            raise UsageError("couldn't find a bake definition", hint=f"looked for {', '.join(DEFAULT_FILES)}")
        return found
    files = []
    for name in names:
        if name == "-":
            if stdin is None:
                raise UsageError("-f -: no standard input")
            files.append(("-", stdin.read().decode()))
            continue
        path = cwd / name
        try:
            files.append((name, path.read_text()))
        except FileNotFoundError:
            raise UsageError(f"open {name}: no such file or directory") from None
        except IsADirectoryError:
            raise UsageError(f"read {name}: is a directory") from None
    return files


def compose_env(cwd: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment compose files see: the process's, then ``.env`` of the working directory for names
    the process does not set (as buildx's ``loadDotEnv``)."""
    env = dict(environ)
    dotenv = cwd / ".env"
    if dotenv.is_file():
        for line in dotenv.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.removeprefix("export ").partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env.setdefault(key.strip(), value)
    return env


def load_config(
    files: list[tuple[str, str]], cwd: Path, environ: Mapping[str, str], builtins: Mapping[str, str]
) -> Config:
    """The merged definition of ``files``."""
    from builder.bake.compose import compose_config, is_compose

    compose_files = [(n, t) for n, t in files if is_compose(n) or (n == "-" and _looks_like_compose(t))]
    other = [(n, t) for n, t in files if (n, t) not in compose_files]
    config = Config()
    if compose_files:
        config.merge(compose_config(compose_files, compose_env(cwd, environ)))
    if other:
        from builder.bake.hclfile import Definitions

        config.merge(Definitions(other, environ, builtins).config())
    return config


def _looks_like_compose(text: str) -> bool:
    return any(line.startswith("services:") for line in text.splitlines())


def builtin_variables(cwd: Path) -> dict[str, str]:
    """buildx's built-in variables: ``BAKE_CMD_CONTEXT`` (the local context, "cwd://") and
    ``BAKE_LOCAL_PLATFORM`` (this machine's platform)."""
    from builder.platforms import Platform

    return {"BAKE_CMD_CONTEXT": "cwd://", "BAKE_LOCAL_PLATFORM": str(Platform.host())}
