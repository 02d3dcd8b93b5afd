"""``--add-host``, ``--ulimit``, ``--shm-size`` and ``--network`` as a RUN step sees them. The expected
lines are what BuildKit v0.13 (Docker 26.1, ``--network host``) printed for the same Buildfile and options:
``/etc/hosts`` gains ``10.1.2.3<TAB>db`` after its two loopback lines, ``ulimit -n`` 1024, ``ulimit -u`` 99,
and /dev/shm is 131072 KiB."""

from __future__ import annotations

import pytest

from tests.build.conftest import write_context

PROBE = "FROM busybox:latest\nRUN cat /etc/hosts > /hosts; ulimit -n > /nofile; ulimit -u > /nproc; " \
    "df -k /dev/shm | tail -1 | awk '{print $2}' > /shm\n"  # fmt: skip


def test_add_host_ulimit_and_shm_size_reach_the_step(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", PROBE)
    pybuild(
        "-t", "rt:1", "--add-host", "db:10.1.2.3", "--add-host", "v6=[::2]",
        "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=99", "--shm-size", "128m", str(context),
    )  # fmt: skip
    hosts = pybuild("run", "rt:1", "cat", "/hosts").out
    assert hosts.splitlines() == [
        "127.0.0.1\tlocalhost buildkitsandbox",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "10.1.2.3\tdb",
        "::2\tv6",
    ]
    assert pybuild("run", "rt:1", "cat", "/nofile", "/nproc", "/shm").out.split() == ["1024", "99", "131072"]


def test_the_options_are_part_of_the_step_key(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", PROBE)
    pybuild("--add-host", "db:10.1.2.3", str(context))
    again = pybuild("--progress=plain", "--add-host", "db:10.1.2.3", str(context))
    assert "CACHED" in again.err
    changed = pybuild("--progress=plain", "--add-host", "db:10.9.9.9", str(context))
    assert "CACHED" not in changed.err


def test_network_none_has_only_loopback(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN ls /sys/class/net > /nets\n")
    pybuild("-t", "nonet:1", "--network", "none", str(context))
    assert pybuild("run", "nonet:1", "cat", "/nets").out.split() == ["lo"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--add-host", "db:host-gateway"], "host-gateway is not supported"),
        (["--add-host", "db:not-an-ip"], "'not-an-ip' is not an IP address"),
        (["--ulimit", "files=1"], "invalid --ulimit 'files=1'"),
        (["--ulimit", "nofile=10:5"], "soft limit 10 is above the hard limit 5"),
        (["--shm-size", "lots"], "invalid --shm-size 'lots'"),
        (["--network", "bridge"], "--network"),
    ],
)
def test_bad_values_are_refused_by_name(pybuild, tmp_path, args, message):
    result = pybuild(*args, str(write_context(tmp_path / "ctx", PROBE)), check=False)
    assert result.returncode == 2 and message in result.err and "Traceback" not in result.err
