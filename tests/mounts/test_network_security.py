"""``RUN --network`` against a server on 127.0.0.1, and ``RUN --security=insecure`` with and without
``--allow security.insecure``."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from tests.mounts.conftest import step_output, write_context


@pytest.fixture
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            body = b"hello-from-the-host\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_network_none_cannot_reach_the_host_while_the_default_can(pybuild, server, tmp_path):
    fetch = f"wget -q -O- http://127.0.0.1:{server}/ || echo unreachable"
    context = write_context(
        tmp_path / "ctx",
        f"FROM busybox\nRUN {fetch}\nRUN --network=default {fetch}\nRUN --network=host {fetch}\n"
        f"RUN --network=none {fetch}\n",
    )
    result = pybuild("--progress", "plain", str(context))
    assert step_output(result.err, f"RUN {fetch}")[1] == ["hello-from-the-host"]
    assert step_output(result.err, "--network=default")[1] == ["hello-from-the-host"]
    assert step_output(result.err, "--network=host")[1] == ["hello-from-the-host"]
    assert step_output(result.err, "--network=none")[1][-1] == "unreachable"
    # the build option applies to RUNs without the flag
    again = pybuild("--progress", "plain", "--no-cache", "--network", "none", str(context))
    assert step_output(again.err, f"RUN {fetch}")[1][-1] == "unreachable"
    assert step_output(again.err, "--network=host")[1] == ["hello-from-the-host"]


def test_network_is_part_of_the_key(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nRUN echo hi\n")
    pybuild(str(context))
    flagged = write_context(tmp_path / "ctx", "FROM busybox\nRUN --network=none echo hi\n")
    assert step_output(pybuild("--progress", "plain", str(flagged)).err, "RUN")[0] is False


INSECURE = (
    "FROM busybox\nRUN --security=insecure grep CapEff /proc/self/status\nRUN grep CapEff /proc/self/status\n"
)


def test_insecure_needs_to_be_allowed(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", INSECURE)
    result = pybuild(str(context), check=False)
    assert result.returncode != 0
    assert "Buildfile:2:" in result.err and "--allow security.insecure" in result.err


def test_insecure_steps_get_every_capability(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", INSECURE)
    result = pybuild("--progress", "plain", "--allow", "security.insecure", str(context))
    insecure = int(step_output(result.err, "--security=insecure")[1][0].split()[1], 16)
    sandbox = int(step_output(result.err, "RUN grep")[1][0].split()[1], 16)
    status = Path("/proc/self/status").read_text().splitlines()
    bounding = int(next(line for line in status if line.startswith("CapBnd:")).split()[1], 16)
    assert insecure == bounding  # all this process has: what runc can grant
    assert sandbox == 0xA80425FB  # Docker's 14 default capabilities
    sandboxed = write_context(tmp_path / "sb", "FROM busybox\nRUN --security=sandbox true\n")
    pybuild(str(sandboxed))  # sandbox is the default and needs nothing


def test_insecure_through_the_api(pybuild, tmp_path):
    import builder
    from builder.errors import BuildError

    mount = "sh -c 'mkdir /m && mount -t tmpfs t /m && umount /m'"
    context = write_context(tmp_path / "ctx", f"FROM busybox\nRUN --security=insecure {mount}\n")
    with pytest.raises(BuildError, match="not allowed"):
        builder.build(context, root=pybuild.root)
    builder.build(context, root=pybuild.root, allow=["security.insecure"])
    sandboxed = write_context(tmp_path / "sandbox", f"FROM busybox\nRUN {mount}\n")
    with pytest.raises(BuildError, match="RUN exited with code"):
        builder.build(sandboxed, root=pybuild.root, allow=["security.insecure"])
