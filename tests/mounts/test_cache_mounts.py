"""``RUN --mount=type=cache``: kept in the store across builds, never in a layer or the cache key, cleared by
`clear_cache_mounts`; ``sharing=locked`` keeps concurrent builds apart."""

from __future__ import annotations

import argparse
import contextlib
import glob
import io
import os
from pathlib import Path

from builder.layer.form import ROOT_FORM
from builder.mounts import clear_cache_mounts
from builder.store import Store
from tests.mounts.conftest import added_entries, step_output, write_context

COUNTER = """FROM busybox
RUN --mount=type=cache,target=/var/cache/app \
    sh -c 'echo run >> /var/cache/app/runs; wc -l < /var/cache/app/runs'
RUN echo {n} > /step
"""


def test_a_second_build_finds_what_the_first_left(pybuild, tmp_path):
    one = write_context(tmp_path / "one", COUNTER.format(n=1))
    first = pybuild("--progress", "plain", "-t", "c:1", str(one))
    assert step_output(first.err, "--mount") == (False, ["1"])
    two = write_context(tmp_path / "two", COUNTER.format(n=2))
    second = pybuild("--progress", "plain", "--no-cache", "-t", "c:2", str(two))
    assert step_output(second.err, "--mount") == (False, ["2"])
    # nothing of the cache (not even its mountpoint) is in the layers
    for layer in added_entries(pybuild, "c:2", tmp_path):
        assert not any(name.startswith("var") for name in layer), layer


def test_the_cache_is_not_part_of_the_key(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", COUNTER.format(n=1))
    pybuild("-t", "c:1", str(context))
    for path in glob.glob(str(pybuild.root / "state/cache-mounts/*/0/runs")):
        with open(path, "a") as f:
            f.write("changed behind the build's back\n")
    again = pybuild("--progress", "plain", "-t", "c:1", str(context))
    assert step_output(again.err, "--mount") == (True, [])
    # an option that shapes what the step sees is (BuildKit v0.13 runs the step again for a new uid or mode,
    # not for a new id or sharing: tests/cache/test_correctness.py)
    changed = write_context(tmp_path / "ctx", COUNTER.format(n=1).replace("/app ", "/app,mode=0700 "))
    assert step_output(pybuild("--progress", "plain", str(changed)).err, "--mount")[0] is False


def test_owner_mode_and_ids(pybuild, tmp_path):
    # as BuildKit v0.13 (tests/build/buildkit/run-mounts): a new cache is 0755 root unless mode/uid/gid say
    # otherwise, a relative target is below WORKDIR, and a cache is shared by id *and* those options
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox\nWORKDIR /w\n"
        "RUN --mount=type=cache,target=c2,uid=7,mode=0700 ls -land /w/c2 > /out1\n"
        "RUN --mount=type=cache,target=/c ls -land /c > /out2\n"
        "RUN --mount=type=cache,target=/other,id=c2,uid=7,mode=0700 sh -c 'stat -c %a:%u /other > /out3'\n"
        "RUN --mount=type=cache,target=/other,id=c2 sh -c 'stat -c %a:%u /other > /out4'\n"
        "RUN cat /out1 /out2 /out3 /out4\n",
    )
    result = pybuild("--progress", "plain", str(context))
    first, second, third, fourth = step_output(result.err, "RUN cat /out1")[1]
    assert first.startswith("drwx------    2 7        0") and first.endswith(" /w/c2")
    assert second.startswith("drwxr-xr-x    2 0        0")
    assert third == "700:7"  # id=c2 with the same options is the cache the relative target c2 made
    assert fourth == "755:0"  # without them it is another cache


def test_cache_from_a_stage_starts_with_its_content(pybuild, tmp_path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox AS seed\nRUN mkdir -p /seed && echo seeded > /seed/file\n"
        "FROM busybox\nRUN --mount=type=cache,target=/c,from=seed,source=/seed cat /c/file > /got\n"
        "RUN cat /got\n",
    )
    result = pybuild("--progress", "plain", str(context))
    assert step_output(result.err, "RUN cat /got") == (False, ["seeded"])


def _prune(root: Path, *args: str) -> str:
    """``pybuild prune ARGS`` (in this process: the command is not in the CLI's registry yet)."""
    from builder.commands import prune

    parser = argparse.ArgumentParser()
    prune.configure(parser)
    namespace = parser.parse_args(list(args))
    namespace.root = str(root)
    namespace.layer_form = ROOT_FORM  # what the CLI decides for the host before a command runs
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert prune.run(namespace) == 0
    return out.getvalue()


def test_pybuild_prune_clears_cache_mounts(pybuild, tmp_path):
    one = write_context(tmp_path / "one", COUNTER.format(n=1))
    pybuild("-t", "c:1", str(one))
    dry = _prune(pybuild.root, "--dry-run")
    assert "would remove cache mount:" in dry and glob.glob(str(pybuild.root / "state/cache-mounts/*/0"))
    young = _prune(pybuild.root, "--filter", "until=1h")
    assert "mount:" not in young and glob.glob(str(pybuild.root / "state/cache-mounts/*/0"))
    assert "removed cache mount:" in _prune(pybuild.root)
    assert not glob.glob(str(pybuild.root / "state/cache-mounts/*/0"))
    two = write_context(tmp_path / "two", COUNTER.format(n=2))
    assert step_output(pybuild("--progress", "plain", "--no-cache", str(two)).err, "--mount") == (False, ["1"])


def test_clearing_empties_the_cache(pybuild, tmp_path):
    one = write_context(tmp_path / "one", COUNTER.format(n=1))
    pybuild("-t", "c:1", str(one))
    with Store.open(pybuild.root) as store:
        removed, freed = clear_cache_mounts(store)
    assert removed == 1 and freed > 0
    assert not glob.glob(str(pybuild.root / "state/cache-mounts/*/0"))
    two = write_context(tmp_path / "two", COUNTER.format(n=2))
    second = pybuild("--progress", "plain", "--no-cache", str(two))
    assert step_output(second.err, "--mount") == (False, ["1"])


LOGGER = """FROM busybox
RUN --mount=type=cache,target=/c,sharing={sharing} sh -c \\
    'for i in 1 2 3 4 5; do echo "{name} $i" >> /c/log; sleep 0.2; done'
"""


def _concurrent(pybuild, tmp_path, sharing: str) -> list[str]:
    contexts = [
        write_context(tmp_path / f"{sharing}-{n}", LOGGER.format(sharing=sharing, name=n)) for n in "ab"
    ]
    builds = [pybuild.popen(str(c)) for c in contexts]
    for build in builds:
        output = build.communicate(timeout=120)[0]
        assert build.returncode == 0, output
    (log,) = glob.glob(str(pybuild.root / "state/cache-mounts/*/0/log"))
    names = [line.split()[0] for line in Path(log).read_text().splitlines()]
    os.unlink(log)
    return names


def test_locked_builds_never_see_each_others_writes_half_done(pybuild, tmp_path):
    names = _concurrent(pybuild, tmp_path, "locked")
    assert len(names) == 10
    assert names[:5] == [names[0]] * 5 and names[5:] == [names[5]] * 5 and names[0] != names[5]


def test_shared_builds_do_run_at_once(pybuild, tmp_path):
    # the control for the test above: the same two builds do overlap when the cache is shared
    names = _concurrent(pybuild, tmp_path, "shared")
    assert len(names) == 10
    assert names[:5] != [names[0]] * 5 or names[5:] != [names[5]] * 5


def test_private_builds_get_their_own_directory(pybuild, tmp_path):
    contexts = [write_context(tmp_path / f"p{n}", LOGGER.format(sharing="private", name=n)) for n in "ab"]
    builds = [pybuild.popen(str(c)) for c in contexts]
    for build in builds:
        assert build.wait(timeout=120) == 0
    logs = sorted(glob.glob(str(pybuild.root / "state/cache-mounts/*/*/log")))
    assert len(logs) == 2
    for log in logs:
        names = {line.split()[0] for line in Path(log).read_text().splitlines()}
        assert len(names) == 1
