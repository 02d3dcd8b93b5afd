"""`RegistryOptions`: how pybuild may reach registries, as the user said it.

Decided where the user says it — the CLI's global ``--insecure-registry``, the Python API's
``insecure_registries`` — and passed down as a value to every `builder.registry.client.RegistryClient` made
for a command or a build (pull, push, login, FROM's images, ``--cache-from``/``--cache-to``, ``--push``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from builder.registry.names import normalize_domain


@dataclass(frozen=True)
class RegistryOptions:
    """``insecure``: the registries (reference domains ``host:port``, or bare hostnames meaning any port)
    reached over plain HTTP; loopback hosts always are (`builder.registry.names.endpoint`). The default
    allows nothing more: HTTPS everywhere else."""

    insecure: frozenset[str] = frozenset()

    @classmethod
    def of(cls, insecure: Iterable[str] = ()) -> RegistryOptions:
        """Options from what a user wrote: each entry normalised as a reference domain (a scheme or path is
        dropped, ``index.docker.io`` is ``docker.io``); empty entries are ignored."""
        return cls(frozenset(normalize_domain(item) for item in insecure if item.strip()))


#: No registry beyond the loopback hosts over plain HTTP: the default wherever options are not passed.
DEFAULT_REGISTRY = RegistryOptions()
