"""A RUN step runs under Docker's default seccomp filter: it cannot make namespaces and mount in them
(issue 20); ``RUN --security=insecure`` lifts the filter; ordinary steps are unaffected.

Expected output recorded from Docker 26.1 / BuildKit v0.13 on this kind of host (``docker buildx build``):
``RUN unshare -Urm sh -c 'mount -t tmpfs none /tmp && echo MOUNTED'; unshare -m true && echo UNSHARED``
prints ``unshare: unshare(0x10020000): Operation not permitted`` and ``unshare: unshare(0x20000): Operation
not permitted`` and neither word.
"""

from __future__ import annotations

from tests.hardening.conftest import write_context

_UNSHARE = "unshare -Urm sh -c 'mount -t tmpfs none /tmp && echo MOUNT''ED'; unshare -m true && echo UNSHARE''D"


def _output(result) -> str:
    return result.out + result.err


def test_a_step_cannot_unshare_and_mount(cli, tmp_path):
    ctx = write_context(
        tmp_path / "ctx",
        f"FROM busybox\nRUN {_UNSHARE}; grep '^Seccomp:' /proc/self/status\n"
        # clone with a namespace flag is refused too, not only unshare(2) (busybox unshare -f forks first)
        "RUN unshare -p -f true 2>&1 || echo REFUSED\n",
    )
    shown = _output(cli("build", "--progress", "plain", "--no-cache", str(ctx)))
    assert "MOUNTED" not in shown and "UNSHARED" not in shown, shown
    assert "unshare: unshare(0x10020000): Operation not permitted" in shown, shown
    assert "unshare: unshare(0x20000): Operation not permitted" in shown, shown
    assert "Seccomp:\t2" in shown, shown  # a filter is installed (mode 2)
    assert "REFUSED" in shown, shown


def test_insecure_mode_lifts_the_filter(cli, tmp_path):
    ctx = write_context(
        tmp_path / "ctx",
        f"FROM busybox\nRUN --security=insecure {_UNSHARE}; grep '^Seccomp:' /proc/self/status\n",
    )
    shown = _output(cli("build", "--allow", "security.insecure", "--progress", "plain", "--no-cache", str(ctx)))
    assert "MOUNTED" in shown and "UNSHARED" in shown, shown
    assert "Seccomp:\t0" in shown, shown


def test_ordinary_steps_still_work(cli, tmp_path):
    """What package managers and build scripts do: fork and exec, change owners and users, chroot, make
    device nodes and FIFOs, set limits and priorities, sockets, extended attributes, threads and timers."""
    script = " && ".join(
        [
            "mkdir -p /w && cd /w",
            "echo data > f && chown 65534:65534 f && chmod 640 f",
            "su -s /bin/sh nobody -c 'id -u' > uid",
            "chroot / true",
            "mknod nullish c 1 3 && rm nullish",
            "mkfifo pipe && rm pipe",
            "nice -n 5 true",
            "ulimit -n 1024",
            "(sleep 0.1 & wait)",
            "tar cf /tmp/t.tar f && tar tf /tmp/t.tar",
            "nc -l -p 0 -w 1 127.0.0.1 </dev/null 2>/dev/null; true",
            "setfattr -n user.x -v 1 f 2>/dev/null || true",
            "date +%s >/dev/null && hostname",
            "echo ALL-OK",
        ]
    )
    ctx = write_context(tmp_path / "ctx", f"FROM busybox\nRUN {script}\nRUN cat /w/uid\n")
    shown = _output(cli("build", "--progress", "plain", "--no-cache", str(ctx)))
    assert "ALL-OK" in shown and "buildkitsandbox" in shown and "65534" in shown, shown


def test_pybuild_run_is_filtered_too(cli, tmp_path):
    result = cli("run", "busybox", "sh", "-c", _UNSHARE, check=False)
    assert "MOUNTED" not in _output(result) and "UNSHARED" not in _output(result)
    assert "Operation not permitted" in _output(result)
