"""EXPOSE: declare the ports the container listens on."""

from __future__ import annotations

import re

from builder.errors import BuildError
from builder.instructions.state import ImageState

_PORT = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_ports(spec: str) -> list[str]:
    """``80`` → ``["80/tcp"]``; ``53/UDP`` → ``["53/udp"]``; ``8000-8002`` → three ports (nat rules)."""
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise BuildError(f"invalid proto: {proto}")
    match = _PORT.match(port)
    if not match:
        raise BuildError(f"invalid containerPort: {port}")
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else start
    if end < start or end > 65535:
        raise BuildError(f"invalid port range: {port}")
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def apply(state: ImageState, specs: list[str]) -> str:
    """Add every port of ``specs`` to ``ExposedPorts``; the history shows them as Go prints a map."""
    exposed = state.own_map("ExposedPorts")
    added: set[str] = set()
    for spec in specs:
        for port in parse_ports(spec):
            exposed[port] = {}
            added.add(port)
    return "EXPOSE map[" + " ".join(f"{p}:{{}}" for p in sorted(added)) + "]"
