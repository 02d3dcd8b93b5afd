"""The HTTP side of the OCI distribution client: one `RegistryClient` per registry, over a requests session.

`RegistryClient.request` adds authentication (see `builder.registry.auth`), repeats a request after a
challenge, and retries with exponential backoff on connection errors, timeouts, 429 and 5xx answers. A body
to send is given as a callable that opens a fresh stream, so a retried upload starts again from its first
byte. Callers get the `requests.Response` of the last attempt and check its status with `expect`.

A `RegistryClient` may be shared by threads (parallel layer transfers); requests' session is safe for that
use and the authenticator locks its own state.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter

from builder.registry import credentials as creds_file
from builder.registry.auth import Authenticator
from builder.registry.credentials import Credentials
from builder.registry.errors import NotFound, RegistryError, error_detail
from builder.registry.names import Endpoint, endpoint
from builder.registry.options import DEFAULT_REGISTRY, RegistryOptions

#: Statuses worth another attempt: the server is overloaded or had a transient fault.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Errors worth another attempt: the connection broke or timed out.
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
USER_AGENT = "pybuild/0.1"

#: A body to send: bytes, or a callable returning ``(stream, length)`` for a fresh stream (closed by us).
Body = bytes | Callable[[], tuple[BinaryIO, int]] | None


class RegistryClient:
    """Talks to one registry. ``domain`` is a reference domain (``docker.io``, ``127.0.0.1:5000``).

    ``credentials``: explicit credentials, else those filed in Docker's config (looked up when first
    needed). ``options`` say whether plain HTTP is allowed (`RegistryOptions`; by default only to loopback
    hosts). ``retries`` extra attempts after a transient failure, waiting ``backoff * 2**n`` seconds.
    """

    def __init__(
        self,
        domain: str,
        *,
        credentials: Credentials | None = None,
        options: RegistryOptions = DEFAULT_REGISTRY,
        retries: int = 5,
        backoff: float = 0.25,
        timeout: float = 60,
    ) -> None:
        self.endpoint: Endpoint = endpoint(domain, insecure=options.insecure)
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

        def load() -> Credentials | None:
            return credentials if credentials is not None else creds_file.lookup(self.endpoint.auth_key)

        self.auth = Authenticator(self.endpoint, self.session, load, timeout=timeout)

    @property
    def domain(self) -> str:
        return self.endpoint.domain

    def url(self, path: str) -> str:
        """An absolute URL: ``path`` relative to the registry (``/v2/…``), or a ``Location`` it returned."""
        return urljoin(self.endpoint.base_url + "/", path)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        scopes: Sequence[str] = (),
        headers: dict[str, str] | None = None,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        body: Body = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send a request with authentication and retries; returns the last response (any status but 401).

        Raises `RegistryError` when the registry cannot be reached after all attempts, `Unauthorized`
        when it refuses us. With ``stream`` the caller reads and closes the response.
        """
        url = self.url(path)
        attempt = 0
        auth_retried = False
        while True:
            sent = self.auth.header(scopes)
            all_headers = dict(headers or {})
            if sent is not None:
                all_headers["Authorization"] = sent
            data, opened = _open_body(body, all_headers)
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=all_headers,
                    params=params,
                    data=data,
                    stream=stream,
                    timeout=self.timeout,
                    allow_redirects=method in ("GET", "HEAD"),
                )
            except TRANSIENT_ERRORS as exc:
                if attempt >= self.retries:
                    raise RegistryError(f"cannot reach {self.domain}: {describe(exc)}") from None
                attempt = self._pause(attempt)
                continue
            except requests.RequestException as exc:  # redirect loops, invalid URLs: not worth another try
                raise RegistryError(f"{method} {path} at {self.domain}: {describe(exc)}") from None
            finally:
                if opened is not None:
                    opened.close()
            if response.status_code == 401:
                response.content  # noqa: B018 - read the error body so the connection can be reused
                if auth_retried:
                    raise self.auth.refused(response, sent)
                self.auth.challenged(response, scopes, sent)
                auth_retried = True
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                response.close()
                attempt = self._pause(attempt, response.headers.get("Retry-After"))
                continue
            return response

    def _pause(self, attempt: int, retry_after: str | None = None) -> int:
        delay = self.backoff * (2**attempt)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        time.sleep(delay)
        return attempt + 1

    def expect(self, response: requests.Response, ok: Sequence[int], what: str) -> requests.Response:
        """Return ``response`` if its status is in ``ok``; else raise `NotFound` (404) or `RegistryError`
        with the registry's own words, ``what`` (``pull 127.0.0.1:5000/app:1``) and the registry's name."""
        if response.status_code in ok:
            return response
        code, text = error_detail(response.content, response.status_code)
        message = f"{what}: {text} at {self.domain}"
        if response.status_code == 404:
            raise NotFound(message, status=404, code=code)
        raise RegistryError(message, status=response.status_code, code=code)

    def ping(self) -> None:
        """``GET /v2/``: check that this is a registry and that we may talk to it (learning its challenge)."""
        response = self.request("GET", "/v2/")
        self.expect(response, (200,), f"ping {self.domain}")


def _open_body(body: Body, headers: dict[str, str]) -> tuple[object, BinaryIO | None]:
    """The ``data`` for requests and the stream to close afterwards (for callable bodies)."""
    if body is None:
        return None, None
    if isinstance(body, bytes):
        return body, None
    stream, length = body()
    headers["Content-Length"] = str(length)
    return stream, stream


def describe(exc: Exception) -> str:
    """Why a transfer failed, in words rather than the HTTP library's reprs (``IncompleteRead(…)``), short."""
    text = str(exc)
    incomplete = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", text)
    if incomplete:
        return f"the connection closed after {incomplete[1]} bytes, {incomplete[2]} more were announced"
    if isinstance(exc, requests.TooManyRedirects):
        return f"too many redirects (more than {requests.models.DEFAULT_REDIRECT_LIMIT})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke off in the middle of the answer"
    return text if len(text) < 300 else text[:300] + "…"
