"""The predefined proxy build arguments: RUN sees them without an ARG line, the image never records them.

BuildKit v0.13 passes ``--build-arg HTTP_PROXY=…`` (and HTTPS_PROXY, FTP_PROXY, NO_PROXY, ALL_PROXY, in either
case) to every RUN as a proxy setting: the process gets the value under both spellings, the step's cache key
and history leave it out (a changed proxy does not make a step run again), and the config never holds it.
"""

from __future__ import annotations

from collections.abc import Mapping

NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")


def proxy_env(build_args: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(name, value)`` for each proxy given as a build arg, once upper and once lower case. Given in both
    spellings, the upper-case one wins (BuildKit picks either, by map order)."""
    env = []
    for name in NAMES:
        value = build_args.get(name, build_args.get(name.lower()))
        if value is not None:
            env += [(name, value), (name.lower(), value)]
    return env
