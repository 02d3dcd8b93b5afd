"""Pure parts of the client: registry endpoints and the HTTP/HTTPS rule, challenges, error bodies,
credential lookup in config.json."""

from __future__ import annotations

import base64
import json

import pytest

from builder.refs import parse_ref
from builder.registry import credentials
from builder.registry.auth import parse_challenge
from builder.registry.errors import error_detail
from builder.registry.names import endpoint, normalize_domain
from builder.registry.options import RegistryOptions


@pytest.mark.parametrize(
    ("image", "host", "path", "url"),
    [
        ("alpine", "registry-1.docker.io", "library/alpine", "https://registry-1.docker.io"),
        ("user/app:1", "registry-1.docker.io", "user/app", "https://registry-1.docker.io"),
        (
            "index.docker.io/library/alpine",
            "registry-1.docker.io",
            "library/alpine",
            "https://registry-1.docker.io",
        ),
        ("ghcr.io/o/app", "ghcr.io", "o/app", "https://ghcr.io"),
        ("localhost:5000/app", "localhost:5000", "app", "http://localhost:5000"),
        ("localhost/app", "localhost", "app", "http://localhost"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", "http://127.0.0.1:5000"),
        ("[::1]:5000/app", "[::1]:5000", "app", "http://[::1]:5000"),
        ("registry.internal:5000/app", "registry.internal:5000", "app", "https://registry.internal:5000"),
    ],
)
def test_reference_to_endpoint(image, host, path, url):
    ref = parse_ref(image)
    point = endpoint(ref.domain, insecure=set())
    assert (point.host, ref.path, point.base_url) == (host, path, url)


def test_insecure_registries_are_options_passed_in():
    insecure = RegistryOptions.of(["registry.internal:5000", " other.example", "", "http://third.example/v2/"])
    assert insecure.insecure == {"registry.internal:5000", "other.example", "third.example"}
    allowed = insecure.insecure
    assert endpoint("registry.internal:5000", insecure=allowed).base_url == "http://registry.internal:5000"
    assert endpoint("other.example:443", insecure=allowed).base_url == "http://other.example:443"  # any port
    assert endpoint("registry.internal:6000", insecure=allowed).base_url == "https://registry.internal:6000"
    assert endpoint("docker.io", insecure=allowed).base_url == "https://registry-1.docker.io"
    assert endpoint("registry.internal:5000").base_url == "https://registry.internal:5000"  # the default


def test_credential_keys_follow_docker():
    assert endpoint("docker.io").auth_key == "https://index.docker.io/v1/"
    assert endpoint("127.0.0.1:5000").auth_key == "127.0.0.1:5000"
    assert normalize_domain("https://index.docker.io/v1/") == "docker.io"
    assert normalize_domain("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000"


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/alpine:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/alpine:pull",
            },
        ),
        ('Basic realm="test-realm"', "basic", {"realm": "test-realm"}),
        (
            'Bearer realm="https://h/token", error="insufficient_scope", scope="repository:a:pull,push"',
            "bearer",
            {"realm": "https://h/token", "error": "insufficient_scope", "scope": "repository:a:pull,push"},
        ),
        ('Bearer realm="a\\"b",service=svc', "bearer", {"realm": 'a"b', "service": "svc"}),
        ("", "", {}),
    ],
)
def test_parse_challenge(header, scheme, params):
    assert parse_challenge(header) == (scheme, params)


def test_error_detail_reads_the_distribution_error_body():
    body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {}}]})
    assert error_detail(body.encode(), 404) == ("MANIFEST_UNKNOWN", "manifest unknown")
    body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
    assert error_detail(body.encode(), 401) == ("UNAUTHORIZED", "unauthorized: authentication required")
    assert error_detail(b"<html>bad gateway</html>", 502) == (None, "HTTP 502")


def test_lookup_reads_auths_in_every_spelling(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    token = base64.b64encode(b"bob:s3cret:with:colons").decode()
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw").decode()},
                    "http://registry.internal:5000/v2/": {"auth": token},
                }
            }
        )
    )
    assert credentials.lookup("https://index.docker.io/v1/") == credentials.Credentials("hub", "pw")
    assert credentials.lookup("registry.internal:5000") == credentials.Credentials("bob", "s3cret:with:colons")
    assert credentials.lookup("ghcr.io") is None
    assert "s3cret" not in repr(credentials.lookup("registry.internal:5000"))


def test_a_missing_helper_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"credHelpers": {"ghcr.io": "nosuch"}}))
    assert credentials.lookup("quay.io") is None
    with pytest.raises(Exception, match="docker-credential-nosuch is not installed"):
        credentials.lookup("ghcr.io")
