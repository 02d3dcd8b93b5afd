"""A registry that lies: a small HTTP server on 127.0.0.1 that serves whatever a test tells it to, for
``pybuild pull`` to meet (fault injection; well-behaved registries are tested against the real one).

Each route maps a path (``/v2/evil/manifests/1``) to a handler ``(request) -> None`` that writes the whole
answer itself, so a test can send endless bodies, short bodies, wrong sizes or redirect loops. `document`,
`endless` and the others build the usual handlers.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.hardening.imagedocs import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, raw, sha

Handler = Callable[[BaseHTTPRequestHandler], None]


class HostileRegistry:
    """The server; ``domain`` (``127.0.0.1:PORT``) names it in references. ``served`` counts the bytes each
    path has sent. Use as a context manager."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {"/v2/": document(b"{}", "application/json")}
        self.served: dict[str, int] = {}
        registry = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                handler = registry.routes.get(self.path.split("?")[0])
                if handler is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    handler(self)  # a client that stops reading is what some tests want

            do_HEAD = do_GET  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Request)
        self._server.daemon_threads = True
        self.domain = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HostileRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def image(self, repo: str, tag: str, config: bytes, layers: list[bytes], sizes: list[int] | None = None):
        """Serve an image: its manifest at ``tag`` and its blobs; ``sizes`` states other layer sizes in the
        manifest. Returns the manifest bytes."""
        layer_descs = [{"mediaType": OCI_LAYER, "digest": sha(layer), "size": len(layer)} for layer in layers]
        for desc, size in zip(layer_descs, sizes or [], strict=False):
            desc["size"] = size
        manifest = raw(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": sha(config), "size": len(config)},
                "layers": layer_descs,
            }
        )
        self.routes[f"/v2/{repo}/manifests/{tag}"] = document(manifest, OCI_MANIFEST)
        for blob in (config, *layers):
            self.routes[f"/v2/{repo}/blobs/{sha(blob)}"] = document(blob, "application/octet-stream")
        return manifest


def document(body: bytes, media_type: str) -> Handler:
    """An honest answer: ``body`` with its length."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", media_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)

    return handle


def endless(counter: dict[str, int] | None = None, *, chunked: bool = False) -> Handler:
    """A body that never ends (a close-delimited stream, or chunked), up to 1 GiB; the bytes sent are
    counted in ``counter[path]``."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/octet-stream")
        if chunked:
            request.send_header("Transfer-Encoding", "chunked")
        request.send_header("Connection", "close")
        request.end_headers()
        block = b"A" * (64 << 10)
        for _ in range((1 << 30) // len(block)):
            request.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            if counter is not None:
                counter[request.path] = counter.get(request.path, 0) + len(block)

    return handle


def short(body: bytes, claimed: int) -> Handler:
    """A body that claims ``claimed`` bytes and ends after ``body`` (the connection closes)."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", OCI_MANIFEST)
        request.send_header("Content-Length", str(claimed))
        request.send_header("Connection", "close")
        request.end_headers()
        request.wfile.write(body)
        request.close_connection = True

    return handle


def redirect_to(location: str) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(302)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handle


def json_body(doc) -> bytes:
    return json.dumps(doc).encode()
