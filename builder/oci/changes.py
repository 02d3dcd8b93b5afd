"""``--change`` for ``pybuild import``: a Dockerfile instruction applied to the new image's config.

Supported, as ``docker import --change``: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER,
VOLUME, WORKDIR. CMD/ENTRYPOINT/VOLUME take the JSON (exec) form or the shell form (CMD/ENTRYPOINT then run
under ``/bin/sh -c``). ENV and LABEL take ``KEY=value`` pairs (shell quoting allowed) or the legacy
``KEY value``. Variables are not expanded. Errors are `UsageError`s naming the change.
"""

from __future__ import annotations

import json
import posixpath
import shlex

from builder.errors import UsageError
from builder.oci.config import with_container_config

SUPPORTED = (
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
)


def _json_list(text: str) -> list[str] | None:
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _pairs(keyword: str, text: str, change: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"--change {change!r}: {exc}") from None
    if words and "=" not in words[0]:
        if len(words) < 2:
            raise UsageError(f"--change {change!r}: {keyword} needs KEY=value or KEY value")
        key, _, value = text.strip().partition(" ")
        return [(key, value.strip())]
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise UsageError(f"--change {change!r}: {keyword} expects KEY=value, got {word!r}")
        pairs.append((key, value))
    if not pairs:
        raise UsageError(f"--change {change!r}: {keyword} needs at least one KEY=value")
    return pairs


def apply_change(config: dict, change: str) -> dict:
    """A copy of the image ``config`` with one ``--change`` instruction applied."""
    keyword, _, rest = change.strip().partition(" ")
    keyword = keyword.upper()
    rest = rest.strip()
    if keyword not in SUPPORTED:
        raise UsageError(
            f"--change {change!r}: unsupported instruction {keyword or '(none)'}",
            hint=("supported: " + ", ".join(SUPPORTED)),
        )
    if not rest:
        raise UsageError(f"--change {change!r}: {keyword} needs an argument")
    container = config.get("config") or {}
    if keyword in ("CMD", "ENTRYPOINT"):
        argv = _json_list(rest)
        value = argv if argv is not None else ["/bin/sh", "-c", rest]
        return with_container_config(config, **{"Cmd" if keyword == "CMD" else "Entrypoint": value})
    if keyword == "ENV":
        env = list(container.get("Env") or [])
        for key, value in _pairs(keyword, rest, change):
            env = [item for item in env if item.partition("=")[0] != key] + [f"{key}={value}"]
        return with_container_config(config, Env=env)
    if keyword == "LABEL":
        labels = dict(container.get("Labels") or {})
        labels.update(_pairs(keyword, rest, change))
        return with_container_config(config, Labels=labels)
    if keyword == "EXPOSE":
        ports = dict(container.get("ExposedPorts") or {})
        for word in rest.split():
            port, _, proto = word.partition("/")
            if not port.replace("-", "").isdigit():
                raise UsageError(f"--change {change!r}: invalid port {word!r}")
            ports[f"{port}/{(proto or 'tcp').lower()}"] = {}
        return with_container_config(config, ExposedPorts=ports)
    if keyword == "VOLUME":
        paths = _json_list(rest) or rest.split()
        volumes = dict(container.get("Volumes") or {})
        volumes.update({path: {} for path in paths})
        return with_container_config(config, Volumes=volumes)
    if keyword == "WORKDIR":
        workdir = posixpath.join(container.get("WorkingDir") or "/", rest)
        return with_container_config(config, WorkingDir=workdir)
    if keyword == "ONBUILD":
        return with_container_config(config, OnBuild=[*(container.get("OnBuild") or []), rest])
    if keyword == "USER":
        return with_container_config(config, User=rest)
    return with_container_config(config, StopSignal=rest)
