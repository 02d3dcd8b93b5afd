"""Builds sharing one store at once, and prune running while a build uses the store. Prints the counts."""

from __future__ import annotations

import time

from tests.hardening.conftest import age_store, write_context
from tests.support import counts

ROUNDS = 3
COMMON = "FROM busybox\nCOPY shared.txt /shared.txt\nRUN cat /shared.txt > /common && sleep 0.2\n"


def test_four_overlapping_builds_at_once(cli, tmp_path):
    failures = []
    builds = 0
    for round_number in range(ROUNDS):
        procs = {}
        for n in range(4):
            # Same first steps (the same cache keys, layers and blobs raced for), different last ones.
            ctx = write_context(
                tmp_path / f"r{round_number}b{n}",
                COMMON + f"RUN echo {round_number}-{n} > /own\nWORKDIR /w{n % 2}\n",
                {"shared.txt": f"round {round_number}\n"},
            )
            procs[n] = cli.popen("build", "-t", f"app{n}:{round_number}", str(ctx))
        for n, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            builds += 1
            if proc.returncode != 0:
                failures.append(f"round {round_number} build {n}: {err.decode()[-500:]}")
                continue
            shown = cli("run", f"app{n}:{round_number}", "cat", "/common", "/own").out
            if shown != f"round {round_number}\n{round_number}-{n}\n":
                failures.append(f"round {round_number} build {n}: image holds {shown!r}")
        verify = cli("store", "verify", check=False)
        if verify.returncode != 0:
            failures.append(f"round {round_number}: {verify.out}")
    counts.record(f"concurrent builds: {builds}, failures: {len(failures)}")
    assert not failures, "\n".join(failures)


def test_prune_waits_for_a_running_build(cli, tmp_path):
    """The build reuses a layer only the cache keeps; prune --all during the build must not take it away."""
    trials, failures = 2, []
    for trial in range(trials):
        first = write_context(tmp_path / f"first{trial}", f"FROM busybox\nRUN echo base{trial} > /base\n")
        cli("build", "-t", "first:1", str(first))
        cli("rmi", "first:1")
        age_store(cli.root, 7200)  # old enough for gc: only the cache record keeps that layer
        second = write_context(
            tmp_path / f"second{trial}",
            f"FROM busybox\nRUN echo base{trial} > /base\nRUN sleep 2 && cat /base > /copy\n",
        )
        build = cli.popen("build", "-t", "second:1", str(second))
        time.sleep(1)  # the first step is a cache hit; the build now sleeps on top of the pruned-for layer
        started = time.monotonic()
        prune = cli("prune", "--all")
        waited = time.monotonic() - started
        out, err = build.communicate(timeout=120)
        if build.returncode != 0:
            failures.append(f"build failed under prune: {err.decode()[-500:]}")
            continue
        if "waiting for running builds" not in prune.out or waited < 0.5:
            failures.append(f"prune did not wait ({waited:.1f}s): {prune.out}")
        if cli("run", "second:1", "cat", "/copy").out != f"base{trial}\n":
            failures.append("the image lost its content")
        if cli("store", "verify", check=False).returncode != 0:
            failures.append("store unsound after prune")
    counts.record(f"prune during build: {trials} trials, failures: {len(failures)}")
    assert not failures, "\n".join(failures)
