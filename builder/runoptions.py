"""``--add-host``, ``--ulimit`` and ``--shm-size``: what every RUN step's container gets, as buildx spells them.

* ``--add-host NAME:IP`` (or ``NAME=IP``; an IPv6 address may be bracketed): a line in the generated
  /etc/hosts. ``host-gateway`` is refused: a build here has no gateway of its own (it uses the host's network).
* ``--ulimit NAME=SOFT[:HARD]`` (``nofile=1024:2048``, ``nproc=512``; ``-1`` is unlimited): an rlimit.
* ``--shm-size SIZE`` (``64m``, ``1g``, bytes without a unit): the size of /dev/shm.

Set, they are part of each RUN step's cache key (BuildKit keeps them in the exec op too); unset, keys are
as before.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from builder.errors import UsageError

ULIMIT_NAMES = (
    "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
    "rtprio", "rttime", "sigpending", "stack",
)  # fmt: skip
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class RunOptions:
    """The container options of every RUN: extra /etc/hosts lines, rlimits, the /dev/shm size (None: 64 MiB,
    BuildKit's)."""

    extra_hosts: tuple[tuple[str, str], ...] = ()
    ulimits: tuple[Ulimit, ...] = field(default_factory=tuple)
    shm_size: int | None = None

    def key_parts(self) -> dict:
        """What a RUN's cache key holds of these (empty when none is set)."""
        parts: dict = {}
        if self.extra_hosts:
            parts["hosts"] = [list(pair) for pair in self.extra_hosts]
        if self.ulimits:
            parts["ulimits"] = [[u.name, u.soft, u.hard] for u in self.ulimits]
        if self.shm_size is not None:
            parts["shm"] = self.shm_size
        return parts


def parse_add_host(value: str) -> tuple[str, str]:
    """``NAME:IP`` or ``NAME=IP`` → ``(IP, NAME)`` as /etc/hosts writes them."""
    separator = "=" if "=" in value else ":"
    name, _, address = value.partition(separator)
    address = address.strip().removeprefix("[").removesuffix("]")
    if address == "host-gateway":
        raise UsageError(f"--add-host {value}: host-gateway is not supported (builds use the host's network)")
    if not name or not address:
        raise UsageError(f"invalid --add-host {value!r}: expected NAME:IP")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise UsageError(f"invalid --add-host {value!r}: {address!r} is not an IP address") from None
    return address, name


def parse_ulimit(value: str) -> Ulimit:
    """``NAME=SOFT[:HARD]`` with NAME one of `ULIMIT_NAMES`."""
    name, eq, limits = value.partition("=")
    if not eq or name not in ULIMIT_NAMES:
        raise UsageError(
            f"invalid --ulimit {value!r}: expected NAME=SOFT[:HARD]", hint=f"names: {', '.join(ULIMIT_NAMES)}"
        )
    soft_text, _, hard_text = limits.partition(":")
    try:
        soft = int(soft_text)
        hard = int(hard_text) if hard_text else soft
    except ValueError:
        raise UsageError(f"invalid --ulimit {value!r}: limits must be integers") from None
    if -1 not in (soft, hard) and soft > hard:
        raise UsageError(f"invalid --ulimit {value!r}: soft limit {soft} is above the hard limit {hard}")
    return Ulimit(name, soft, hard)


def parse_size(value: str, option: str = "--shm-size") -> int:
    """``64m``, ``1g``, ``1048576`` (bytes) → bytes; Docker's units (powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+)\s*([bkmgt]?)b?\s*", value.lower())
    if match is None or int(match.group(1)) <= 0:
        raise UsageError(f"invalid {option} {value!r}: expected a size such as 64m or 1g")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_run_options(add_hosts: list[str], ulimits: list[str], shm_size: str | None) -> RunOptions:
    """The three options as given on the command line."""
    return RunOptions(
        tuple(parse_add_host(v) for v in add_hosts),
        tuple(parse_ulimit(v) for v in ulimits),
        parse_size(shm_size) if shm_size else None,
    )
