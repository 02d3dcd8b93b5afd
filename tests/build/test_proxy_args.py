"""The predefined proxy build arguments (tests/build/buildkit/proxy-args holds what BuildKit v0.13 builds):
a changed proxy does not make a RUN step run again, and neither the config nor the history holds it."""

from __future__ import annotations

import json
from pathlib import Path


def test_a_changed_proxy_keeps_the_step_cached_and_out_of_the_image(pybuild, tmp_path: Path):
    (tmp_path / "Buildfile").write_text('FROM busybox:latest\nRUN echo "$https_proxy" > /p\n')
    first = pybuild(
        "--progress", "plain", "--build-arg", "HTTPS_PROXY=http://one:1", "-t", "px:1", str(tmp_path)
    )
    assert "CACHED" not in first.err
    second = pybuild(
        "--progress", "plain", "--build-arg", "HTTPS_PROXY=http://two:2", "-t", "px:2", str(tmp_path)
    )
    assert "CACHED" in second.err, second.err
    shown = pybuild("run", "--rm", "px:1", "cat", "/p").out
    assert shown == "http://one:1\n"
    image = json.loads(pybuild("inspect", "px:1").out)[0]
    recorded = json.dumps([image["Config"], image["History"]])
    assert "http://one:1" not in recorded and "HTTPS_PROXY" not in recorded
