"""Where an image reference lives: the registry host to talk to, over HTTPS or plain HTTP, and the key its
credentials are filed under in ``~/.docker/config.json``.

Docker Hub is ``docker.io`` in references but is served by ``registry-1.docker.io``; its credentials are
filed under ``https://index.docker.io/v1/``. Every other registry is its own domain. HTTPS is the default;
plain HTTP is used for loopback hosts (``localhost``, ``127.0.0.1``, ``::1``, any port) and for the hosts
the caller names as insecure (``host`` or ``host:port``: `builder.registry.options.RegistryOptions`, from the
global ``--insecure-registry`` option).
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.refs import DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN

DOCKER_HUB_HOST = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _hostname(domain: str) -> str:
    """``host`` of ``host:port`` (IPv6 in brackets kept as written)."""
    if domain.startswith("["):
        return domain[: domain.index("]") + 1]
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


def normalize_domain(text: str) -> str:
    """The reference domain a user's registry argument means: ``https://index.docker.io/v1/`` and
    ``index.docker.io`` → ``docker.io``; a scheme and path are dropped (``http://h:5000/x`` → ``h:5000``)."""
    text = text.strip()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    text = text.split("/", 1)[0]
    if text in (LEGACY_DEFAULT_DOMAIN, DOCKER_HUB_HOST, ""):
        return DEFAULT_DOMAIN
    return text


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A registry as the client reaches it. ``domain`` is the reference domain (``docker.io``,
    ``127.0.0.1:5000``); ``host`` the server to connect to; ``base_url`` e.g. ``https://host``."""

    domain: str
    host: str
    secure: bool

    @property
    def base_url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.host}"

    @property
    def auth_key(self) -> str:
        """The key under which ``config.json`` files this registry's credentials."""
        return DOCKER_HUB_AUTH_KEY if self.domain == DEFAULT_DOMAIN else self.domain

    def __str__(self) -> str:
        return self.domain


def endpoint(domain: str, *, insecure: frozenset[str] | set[str] = frozenset()) -> Endpoint:
    """The `Endpoint` for a reference domain (see the module docstring for the HTTP/HTTPS rule); ``insecure``
    holds normalised domains or hostnames allowed plain HTTP."""
    domain = normalize_domain(domain)
    if domain == DEFAULT_DOMAIN:
        return Endpoint(domain, DOCKER_HUB_HOST, True)
    plain = _hostname(domain) in _LOOPBACK or domain in insecure or _hostname(domain) in insecure
    return Endpoint(domain, domain, not plain)
