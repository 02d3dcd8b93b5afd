"""Authentication against a registry: the ``WWW-Authenticate`` challenge, Bearer tokens, Basic auth.

The flow is the distribution spec's: a request without credentials is answered 401 with a challenge.
``Basic realm=…`` means: send ``user:password`` on every request. ``Bearer realm=…,service=…,scope=…``
means: ask the token server at ``realm`` for a token for ``service`` and the scopes the request needs
(``repository:NAME:pull,push``), with Basic credentials if we have some (anonymously otherwise), then send
``Authorization: Bearer <token>``. Tokens are cached per scope set until they expire; once the challenge is
known, a token for a new scope set is fetched before the request instead of after a 401.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Sequence

import requests

from builder.registry.credentials import Credentials
from builder.registry.errors import RegistryError, Unauthorized, error_detail
from builder.registry.names import Endpoint

_PARAM_RE = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')
#: Seconds before expiry at which a cached token is no longer used.
_EXPIRY_MARGIN = 10
_DEFAULT_TOKEN_LIFETIME = 60


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``("bearer", {"realm": …, "service": …, "scope": …})`` from a ``WWW-Authenticate`` value.

    The scheme is lower-cased; parameter values are unquoted. An empty header gives ``("", {})``.
    """
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PARAM_RE.match(rest, pos)
        if not match or match.end() == pos:
            break
        value = match.group(2)
        value = re.sub(r"\\(.)", r"\1", value) if value is not None else match.group(3)
        params[match.group(1).lower()] = value
        pos = match.end()
    return scheme.lower(), params


def login_hint(endpoint: Endpoint) -> str:
    login_name = "" if endpoint.domain == "docker.io" else f" {endpoint.domain}"
    return f"run pybuild login{login_name}"


class Authenticator:
    """Holds what one registry asked for and answers with the right ``Authorization`` header. Thread-safe.

    ``credentials`` is called at most once, when credentials are first needed (a helper may be slow).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        session: requests.Session,
        credentials: Callable[[], Credentials | None],
        *,
        timeout: float = 60,
    ) -> None:
        self.endpoint = endpoint
        self._session = session
        self._load_credentials = credentials
        self._credentials: Credentials | None = None
        self._loaded = False
        self._timeout = timeout
        self._lock = threading.Lock()
        self._scheme = ""
        self._params: dict[str, str] = {}
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}

    def credentials(self) -> Credentials | None:
        with self._lock:
            if not self._loaded:
                self._credentials = self._load_credentials()
                self._loaded = True
            return self._credentials

    def header(self, scopes: Sequence[str]) -> str | None:
        """The ``Authorization`` value for a request needing ``scopes``, or None before any challenge."""
        if self._scheme == "basic":
            creds = self.credentials()
            return _basic(creds) if creds is not None else None
        if self._scheme == "bearer":
            return f"Bearer {self._token(tuple(sorted(scopes)), fresh=False)}"
        return None

    def challenged(self, response: requests.Response, scopes: Sequence[str], sent: str | None) -> None:
        """Learn from a 401 answering a request that sent ``sent`` (its Authorization header, or None), so
        that the next `header` can do better. Raises `Unauthorized` naming the registry when nothing we
        could send would help (no credentials for Basic, or Basic credentials refused). The caller repeats
        a request at most once after a 401 and reports a second one with `refused`."""
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme not in ("basic", "bearer"):
            raise self.refused(response, sent)
        with self._lock:
            self._scheme, self._params = scheme, params
            if sent is not None and sent.startswith("Bearer "):
                self._tokens.pop(tuple(sorted(scopes)), None)  # expired or too narrow: ask again
        if scheme == "basic" and (sent is not None or self.credentials() is None):
            raise self.refused(response, sent)

    def check_login(self) -> None:
        """Prove the credentials against the registry's challenge: fetch a token with no scope (Bearer) or
        let the caller's ping with Basic auth decide. Raises `Unauthorized` if the token server refuses."""
        if self._scheme == "bearer":
            self._token((), fresh=True)

    def _token(self, scopes: tuple[str, ...], *, fresh: bool) -> str:
        now = time.monotonic()
        with self._lock:
            cached = self._tokens.get(scopes)
            if cached is not None and not fresh and cached[1] > now:
                return cached[0]
            params = dict(self._params)
        realm = params.get("realm")
        if not realm:
            raise RegistryError(f"{self.endpoint.domain} asked for a token but named no token server")
        query: list[tuple[str, str]] = []
        if params.get("service"):
            query.append(("service", params["service"]))
        query.extend(("scope", scope) for scope in scopes)
        creds = self.credentials()
        headers = {"Authorization": _basic(creds)} if creds is not None else {}
        try:
            response = self._session.get(realm, params=query, headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            raise RegistryError(
                f"cannot reach the token server {realm} of {self.endpoint.domain}: {exc}"
            ) from None
        if response.status_code in (401, 403):
            raise self.refused(response, headers.get("Authorization"))
        if response.status_code != 200:
            raise RegistryError(
                f"token server {realm} of {self.endpoint.domain} answered HTTP {response.status_code}",
                status=response.status_code,
            )
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
            lifetime = float(body.get("expires_in") or _DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError, TypeError):
            token, lifetime = None, 0
        if not token:
            raise RegistryError(f"token server {realm} of {self.endpoint.domain} sent no token")
        with self._lock:
            self._tokens[scopes] = (str(token), now + max(lifetime - _EXPIRY_MARGIN, 1))
        return str(token)

    def refused(self, response: requests.Response, sent: str | None) -> Unauthorized:
        """The error for a refusal: Docker's wording, the registry's name and what to do about it."""
        code, text = error_detail(response.content, response.status_code)
        hint = login_hint(self.endpoint)
        with_password = sent is not None and sent.startswith("Basic ")
        if with_password and response.status_code == 401 and code in (None, "UNAUTHORIZED"):
            text = "unauthorized: incorrect username or password"
            hint = f"check the user name and password ({hint})"
        elif code is None:
            text = "unauthorized: authentication required" if response.status_code == 401 else text
        message = f"{text} at {self.endpoint.domain} \N{EM DASH} {hint}"
        return Unauthorized(message, status=response.status_code, code=code)


def _basic(creds: Credentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()
