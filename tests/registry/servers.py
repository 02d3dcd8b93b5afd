"""Real servers for registry tests, all on 127.0.0.1 with random ports, stopped by their fixtures.

* `Registry`: Debian's ``docker-registry`` (distribution 2.8) with filesystem storage, optionally with
  htpasswd Basic auth or token auth;
* `TokenServer`: a token endpoint written for the tests — checks Basic credentials and issues RS256 JWTs
  (with the signing certificate in ``x5c``) granting the requested scopes to known users;
* `FaultProxy`: a threaded HTTP proxy in front of a registry that logs every request and injects faults
  on the requests matching a rule: answer 500, cut a response (or request) body half-way, corrupt a body.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

REGISTRY_BIN = "docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Registry:
    """A running ``docker-registry``; ``domain`` is ``HOST:PORT`` (``host`` 127.0.0.1 unless another loopback
    address is asked for). ``auth``: None, ``"htpasswd"`` (with ``users`` {name: password}) or ``"token"``
    (with a `TokenServer`)."""

    def __init__(
        self,
        base: Path,
        *,
        auth: str | None = None,
        users=None,
        token: TokenServer | None = None,
        host: str = "127.0.0.1",
    ):
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.domain = f"{host}:{self.port}"
        config = [
            "version: 0.1",
            "log:",
            "  level: info",
            "storage:",
            f"  filesystem: {{rootdirectory: {base / 'data'}}}",
            "  delete: {enabled: true}",
            "http:",
            f"  addr: {self.domain}",
            "  secret: test-secret",
        ]
        if auth == "htpasswd":
            lines = []
            for name, password in (users or {}).items():
                out = subprocess.run(
                    ["htpasswd", "-Bbn", name, password], check=True, capture_output=True, text=True
                )
                lines.append(out.stdout.strip())
            (base / "htpasswd").write_text("\n".join(lines) + "\n")
            config += ["auth:", "  htpasswd:", "    realm: test-realm", f"    path: {base / 'htpasswd'}"]
        elif auth == "token":
            assert token is not None
            config += [
                "auth:",
                "  token:",
                f"    realm: {token.url}/token",
                f"    service: {token.service}",
                f"    issuer: {token.issuer}",
                f"    rootcertbundle: {token.cert_path}",
            ]
        (base / "config.yml").write_text("\n".join(config) + "\n")
        self.log = open(base / "registry.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(base / "config.yml")], stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"http://{self.domain}/v2/", timeout=1)
                break
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"registry did not start: {(base / 'registry.log').read_text()}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class TokenServer:
    """Issues registry tokens: ``users`` {name: password} get every scope they ask for; anonymous callers
    get ``pull`` on repositories named in ``public`` only; wrong credentials get 401. ``requests`` logs
    (user or None, scopes) of each token request."""

    service = "test-registry"
    issuer = "test-token-issuer"

    def __init__(self, base: Path, users: dict[str, str], public: tuple[str, ...] = ()) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.users = users
        self.public = public
        self.requests: list[tuple[str | None, list[str]]] = []
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test token signer")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self._cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.cert_path = base / "token-cert.pem"
        base.mkdir(parents=True, exist_ok=True)
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                status, body = server.answer(self.path, self.headers.get("Authorization"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict]:
        query = parse_qs(urlsplit(path).query)
        scopes = query.get("scope", [])
        user = None
        if authorization:
            scheme, _, value = authorization.partition(" ")
            name, _, password = base64.b64decode(value).decode().partition(":")
            if scheme != "Basic" or self.users.get(name) != password:
                self.requests.append((name, scopes))
                return 401, {"details": "incorrect username or password"}
            user = name
        self.requests.append((user, scopes))
        access = []
        for scope in scopes:
            kind, repo, actions = scope.split(":")
            if user is None:
                granted = ["pull"] if repo in self.public and "pull" in actions.split(",") else []
            else:
                granted = actions.split(",")
            if granted:
                access.append({"type": kind, "name": repo, "actions": granted})
        return 200, {"token": self.sign(user or "", access), "expires_in": 300}

    def sign(self, subject: str, access: list[dict]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self._cert_der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": f"{now}-{threading.get_ident()}-{len(self.requests)}",
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass
class Fault:
    """Inject ``kind`` (``"500"``, ``"cut"`` a response body, ``"cut-request"`` a request body,
    ``"corrupt"`` a response body) into the next ``times`` requests with ``method`` whose path matches
    ``path`` (a regular expression searched in the path and query)."""

    method: str
    path: str
    kind: str
    times: int = 1
    hits: int = 0


@dataclass
class Logged:
    method: str
    path: str
    status: int
    range: str | None = None


class FaultProxy:
    """Forwards HTTP/1.1 requests to ``upstream`` (``host:port``) keeping the Host header, so the registry's
    ``Location`` URLs point back at the proxy. ``log`` lists every request and the status returned."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _handle(self) -> None:
                proxy.handle(self)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.domain = f"127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def add(self, method: str, path: str, kind: str, times: int = 1) -> Fault:
        fault = Fault(method, path, kind, times)
        self.faults.append(fault)
        return fault

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.hits < fault.times and fault.method == method and re.search(fault.path, path):
                    fault.hits += 1
                    return fault
        return None

    def requests_matching(self, method: str, pattern: str) -> list[Logged]:
        return [entry for entry in self.log if entry.method == method and re.search(pattern, entry.path)]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        method, path = handler.command, handler.path
        length = int(handler.headers.get("Content-Length") or 0)
        assert "chunked" not in (handler.headers.get("Transfer-Encoding") or ""), "client sent a chunked body"
        fault = self._fault_for(method, path)
        if fault is not None and fault.kind == "cut-request":
            handler.rfile.read(length // 2)
            self._record(method, path, 0, handler)
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        body = handler.rfile.read(length) if length else b""
        if fault is not None and fault.kind == "500":
            self._record(method, path, 500, handler)
            self._send(handler, 500, [("Content-Type", "text/plain")], b"injected fault\n", method)
            return
        conn = http.client.HTTPConnection(self.upstream, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("connection", "keep-alive")}
        conn.request(
            method, path, body=body if body or method in ("PUT", "POST", "PATCH") else None, headers=headers
        )
        response = conn.getresponse()
        data = response.read()
        conn.close()
        out_headers = [
            (k, v)
            for k, v in response.getheaders()
            if k.lower() not in ("transfer-encoding", "connection", "keep-alive", "content-length")
        ]
        self._record(method, path, response.status, handler)
        if fault is not None and fault.kind == "corrupt" and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        if fault is not None and fault.kind == "cut" and len(data) > 1:
            handler.send_response(response.status)
            for key, value in out_headers:
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(handler, response.status, out_headers, data, method, response.getheader("Content-Length"))

    def _record(self, method: str, path: str, status: int, handler) -> None:
        with self._lock:
            self.log.append(Logged(method, path, status, handler.headers.get("Range")))

    @staticmethod
    def _send(handler, status: int, headers, data: bytes, method: str, head_length: str | None = None) -> None:
        handler.send_response(status)
        for key, value in headers:
            handler.send_header(key, value)
        # A HEAD answer carries the length a GET's body would have.
        handler.send_header("Content-Length", head_length or "0" if method == "HEAD" else str(len(data)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
