"""Cache correctness (issue 21): one input changed between two real builds; which steps ran, why, and the
image that came out.

A stale hit shows as an image that differs from a ``--no-cache`` build of the same inputs, so those tests
compare digests with one. Builds that compare digests fix SOURCE_DATE_EPOCH: without it an image's
``created`` is the moment it was built. Where BuildKit v0.13 was asked (Docker 26.1's, through
``shared/tools/reference-buildkit.sh``), its answer is the expectation and is named in the test.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.cache.conftest import Pybuild, outcomes, write_context

EPOCH = "SOURCE_DATE_EPOCH=1000000000"
PARENT = "parent step ran"


def _build(tool: Pybuild, ctx: Path, *extra: str, tag: str = "app:1") -> tuple[list[tuple[str, str]], str]:
    """Build ``ctx`` as ``tag``; returns (the outcome of each layer step, the image's manifest digest)."""
    done = tool("build", "--progress=plain", "-t", tag, *extra, str(ctx))
    return outcomes(done.err), _inspect(tool, tag)["Digest"]


def _inspect(tool: Pybuild, tag: str) -> dict:
    return json.loads(tool("inspect", tag).out)[0]


def _layers(tool: Pybuild, tag: str) -> list[str]:
    return [layer["digest"] for layer in _inspect(tool, tag)["Manifest"]["layers"]]


def _cache_blob(cache: Path, diff_id: str) -> str:
    """The digest of the blob the cache layout at ``cache`` holds for layer ``diff_id`` (compressed on export:
    the store keeps the build's layers unpacked)."""
    index = json.loads((cache / "index.json").read_text())
    document = json.loads((cache / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
    for entry in document.get("layers", []) + document.get("manifests", []):
        if entry.get("annotations", {}).get("containerd.io/uncompressed") == diff_id:
            return entry["digest"]
    raise AssertionError(f"no blob of layer {diff_id} in the cache at {cache}")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


# --- 1. SOURCE_DATE_EPOCH ------------------------------------------------------------------------------------
EPOCH_FILE = """\
FROM busybox:latest
COPY app.txt /app.txt
RUN echo built > /built
"""


@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [
        (["--build-arg", EPOCH], ["--build-arg", "SOURCE_DATE_EPOCH=1500000000"], "1000000000 → 1500000000"),
        ([], ["--build-arg", "SOURCE_DATE_EPOCH=1500000000"], "(unset) → 1500000000"),
    ],
    ids=["another epoch", "epoch set"],
)
def test_source_date_epoch_is_an_input_of_every_layer_step(pybuild, tmp_path, first, second, reason):
    ctx = write_context(tmp_path / "ctx", EPOCH_FILE, {"app.txt": "app\n"})
    _build(pybuild, ctx, *first)
    ran, digest = _build(pybuild, ctx, *second)
    # BuildKit v0.13 keeps both cached: it sets only history times from the epoch (its layers are clamped
    # at export, with rewrite-timestamp=true). pybuild clamps each layer as it commits it, so the epoch is an
    # input of every layer step. The copy's mtimes are clamped to another time: its layer differs, and the
    # RUN on it runs too.
    assert ran == [
        ("stage-0 COPY app.txt /app.txt", f"SOURCE_DATE_EPOCH changed: {reason}"),
        ("stage-0 RUN echo built > /built", PARENT),
    ]
    fresh, fresh_digest = _build(pybuild, ctx, "--no-cache", *second, tag="fresh:1")
    assert digest == fresh_digest
    history = _inspect(pybuild, "app:1")["History"]
    assert {entry["created"] for entry in history[1:]} == {"2017-07-14T02:40:00Z"}


# --- 2. a cache mount seeded from a stage -------------------------------------------------------------------
SEEDED = """\
FROM busybox:latest AS seed
COPY seed.txt /x/seed.txt
COPY other.txt /other.txt

FROM busybox:latest
RUN --mount=type=cache,target=/c,from=seed,source=/x cat /c/seed.txt > /out
"""


def test_a_cache_mount_follows_its_seed_and_is_seeded_afresh(pybuild, tmp_path):
    ctx = write_context(tmp_path / "ctx", SEEDED, {"seed.txt": "seed1\n", "other.txt": "other\n"})
    _build(pybuild, ctx, "--build-arg", EPOCH)
    (ctx / "seed.txt").write_text("seed2\n")
    ran, digest = _build(pybuild, ctx, "--build-arg", EPOCH)
    # BuildKit v0.13 runs the step again and its cache directory holds the new seed
    assert ran == [
        ("seed COPY seed.txt /x/seed.txt", "COPY: seed.txt changed"),
        ("seed COPY other.txt /other.txt", PARENT),
        (
            "stage-1 RUN --mount=type=cache,target=/c,from=seed,source=/x cat /c/seed.txt > /out",
            "--mount type=cache,target=/c,from=seed,source=/x: seed content changed",
        ),
    ]
    assert pybuild("run", "app:1", "cat", "/out").out == "seed2\n"
    assert digest == _build(pybuild, ctx, "--no-cache", "--build-arg", EPOCH, tag="fresh:1")[1]

    # the stage's other file is no part of the seed: the step stays cached
    (ctx / "other.txt").write_text("other, changed\n")
    ran, _digest = _build(pybuild, ctx, "--build-arg", EPOCH)
    assert ran[-1] == (
        "stage-1 RUN --mount=type=cache,target=/c,from=seed,source=/x cat /c/seed.txt > /out",
        "CACHED",
    )


# --- 3. COPY and ADD layers are functions of their inputs ---------------------------------------------------
def _archive(path: Path) -> None:
    import io
    import tarfile

    with tarfile.open(path, "w") as archive:
        for name, kind in (("pkg", tarfile.DIRTYPE), ("pkg/lib", tarfile.DIRTYPE), ("pkg/lib/a.txt", None)):
            info = tarfile.TarInfo(name)
            info.mtime = 1_200_000_000
            if kind is None:
                info.size = 2
                archive.addfile(info, io.BytesIO(b"a\n"))
            else:
                info.type, info.mode = kind, 0o755
                archive.addfile(info)


DETERMINISTIC = """\
FROM busybox:latest
COPY src /src
COPY src/ /opt/deep/src/
COPY f.txt /a/b/f.txt
COPY f.txt /etc/f.txt
COPY f.txt src/sub/ /many/
COPY <<EOT /heredoc.txt
hello
EOT
ADD pkg.tar /unpacked/
COPY --link src /linked
"""


def test_every_copy_layer_is_the_same_when_it_runs_again(pybuild, tmp_path):
    ctx = write_context(
        tmp_path / "ctx", DETERMINISTIC, {"src/a.txt": "a\n", "src/sub/b.txt": "b\n", "f.txt": "f\n"}
    )
    _archive(ctx / "pkg.tar")
    for path in (ctx / "src", ctx / "src/sub", ctx / "src/a.txt"):
        os.utime(path, (1_100_000_000, 1_100_000_000))
    pybuild("build", "--no-cache", "-t", "one:1", str(ctx))
    pybuild("build", "--no-cache", "-t", "two:1", str(ctx))
    # BuildKit v0.13 gives `COPY src /src` the same layer twice, but stamps created and modified directories
    # (/a, /a/b, /etc, /many) and heredoc files with the wall clock; pybuild gives each a time of the inputs
    assert _layers(pybuild, "one:1") == _layers(pybuild, "two:1")
    listing = pybuild(
        "run", "one:1", "ls", "-ld", "--full-time", "/src", "/unpacked/pkg/lib", "/heredoc.txt"
    ).out
    times = [re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line)[0] for line in listing.splitlines()]
    assert times == ["1970-01-01 00:00:00", "2004-11-09 11:33:20", "2008-01-10 21:20:00"]  # ls sorts


def test_a_copy_that_runs_again_to_the_same_layer_leaves_later_steps_cached(pybuild, tmp_path):
    buildfile = (
        "FROM busybox:latest AS files\nCOPY src /src\nFROM files\nRUN cat /proc/sys/kernel/random/uuid > /s\n"
    )
    ctx = write_context(tmp_path / "ctx", buildfile, {"src/a.txt": "a\n", "src/sub/b.txt": "b\n"})
    _build(pybuild, ctx)  # no SOURCE_DATE_EPOCH: nothing clamps the times the copy gives
    before = _layers(pybuild, "app:1")
    ran, _digest = _build(pybuild, ctx, "--no-cache-filter", "files")
    # the copy makes the layer it made before, so the step on it is not run again (its output would differ);
    # the image differs only by the history time of the copy that ran
    assert ran == [
        ("files COPY src /src", "--no-cache-filter files"),
        ("stage-1 RUN cat /proc/sys/kernel/random/uuid > /s", "CACHED"),
    ]
    assert _layers(pybuild, "app:1") == before


# --- 4. owners ------------------------------------------------------------------------------------------------
def test_the_owner_of_a_context_file_is_no_input_of_copy(pybuild, tmp_path):
    buildfile = "FROM busybox:latest\nCOPY app.txt /app.txt\nRUN echo after > /after\n"
    ctx = write_context(tmp_path / "ctx", buildfile, {"app.txt": "app\n"})
    _ran, before = _build(pybuild, ctx, "--build-arg", EPOCH)
    os.chown(ctx / "app.txt", 1000, 1000)
    ran, digest = _build(pybuild, ctx, "--build-arg", EPOCH)
    # BuildKit v0.13 keeps both cached: COPY writes the file root-owned
    assert ran == [("stage-0 COPY app.txt /app.txt", "CACHED"), ("stage-0 RUN echo after > /after", "CACHED")]
    assert digest == before == _build(pybuild, ctx, "--no-cache", "--build-arg", EPOCH, tag="fresh:1")[1]


def test_the_owner_of_a_file_copied_from_a_stage_is_an_input(pybuild, tmp_path):
    buildfile = (
        "FROM busybox:latest AS src\nRUN echo x > /x && chown {owner} /x\nFROM busybox\nCOPY --from=src /x /x\n"
    )
    ctx = write_context(tmp_path / "ctx", buildfile.format(owner="0:0"))
    _build(pybuild, ctx, "--build-arg", EPOCH)
    (ctx / "Buildfile").write_text(buildfile.format(owner="1000:1000"))
    ran, digest = _build(pybuild, ctx, "--build-arg", EPOCH)
    assert ran[-1] == ("stage-1 COPY --from=src /x /x", "COPY: x changed (owner 0:0 → 1000:1000)")
    assert digest == _build(pybuild, ctx, "--no-cache", "--build-arg", EPOCH, tag="fresh:1")[1]


# --- 5. COPY --link -------------------------------------------------------------------------------------------
LINKED = """\
FROM busybox:latest
ARG V=1
RUN echo $V > /v
COPY --link app.txt /app/app.txt
RUN cat /proc/sys/kernel/random/uuid > /stamp
"""


def test_copy_link_does_not_depend_on_its_parent(pybuild, tmp_path):
    ctx = write_context(tmp_path / "ctx", LINKED, {"app.txt": "app\n"})
    _build(pybuild, ctx, "--build-arg", EPOCH)
    linked = _layers(pybuild, "app:1")[2]
    ran, digest = _build(pybuild, ctx, "--build-arg", EPOCH, "--build-arg", "V=2")
    # BuildKit v0.13 (docker driver) does not copy again: its copy is cached and only stacked onto the new
    # parent (shown as run), though the layer it exports gets a new time for /app. pybuild keeps the step
    # cached and its layer as it was; what stands on it runs on its new parent.
    assert ran == [
        ("stage-0 RUN echo $V > /v", "ARG V: 1 → 2"),
        ("stage-0 COPY --link app.txt /app/app.txt", "CACHED"),
        # its own parent was cached, but what lies below it changed
        ("stage-0 RUN cat /proc/sys/kernel/random/uuid > /stamp", "parent step changed"),
    ]
    assert _layers(pybuild, "app:1")[2] == linked


# --- 6. a bind mount from a stage -----------------------------------------------------------------------------
BOUND = """\
FROM busybox:latest AS deps
COPY deps/ /deps/
COPY other.txt /other.txt

FROM busybox:latest
RUN --mount=type=bind,from=deps,source=/deps,target=/d cat /d/a.txt > /out
"""
BOUND_RUN = "stage-1 RUN --mount=type=bind,from=deps,source=/deps,target=/d cat /d/a.txt > /out"


def test_a_bind_mount_from_a_stage_follows_the_source_it_selects(pybuild, tmp_path):
    ctx = write_context(tmp_path / "ctx", BOUND, {"deps/a.txt": "a1\n", "other.txt": "other\n"})
    _ran, before = _build(pybuild, ctx, "--build-arg", EPOCH)
    (ctx / "other.txt").write_text("other, changed\n")
    ran, digest = _build(pybuild, ctx, "--build-arg", EPOCH)
    # BuildKit v0.13: an unrelated file of the stage leaves the step cached
    assert ran == [
        ("deps COPY deps/ /deps/", "CACHED"),
        ("deps COPY other.txt /other.txt", "COPY: other.txt changed"),
        (BOUND_RUN, "CACHED"),
    ]
    assert digest == before

    (ctx / "deps/a.txt").write_text("a2\n")
    ran, digest = _build(pybuild, ctx, "--build-arg", EPOCH)
    assert ran[-1] == (BOUND_RUN, "--mount type=bind,target=/d,from=deps,source=/deps: source content changed")
    assert pybuild("run", "app:1", "cat", "/out").out == "a2\n"
    assert digest == _build(pybuild, ctx, "--no-cache", "--build-arg", EPOCH, tag="fresh:1")[1]


# --- 7. cache mount options, platforms, remote caches ---------------------------------------------------------
CACHE_MOUNT = "FROM busybox:latest\nRUN --mount=type=cache,{options},target=/c echo hi > /x\n"


@pytest.mark.parametrize(
    ("options", "outcome"),
    [
        ("id=other", "CACHED"),  # BuildKit v0.13: CACHED (the id names storage, not an input)
        ("id=one,sharing=locked", "CACHED"),  # BuildKit v0.13: CACHED
        ("id=one,uid=1000", "--mount type=cache,target=/c: uid (unset) → 1000"),  # BuildKit v0.13: runs
    ],
    ids=["id", "sharing", "uid"],
)
def test_a_cache_mount_id_is_no_input(pybuild, tmp_path, options, outcome):
    ctx = write_context(tmp_path / "ctx", CACHE_MOUNT.format(options="id=one"))
    _ran, before = _build(pybuild, ctx, "--build-arg", EPOCH)
    layers = _layers(pybuild, "app:1")
    (ctx / "Buildfile").write_text(CACHE_MOUNT.format(options=options))
    ran, digest = _build(pybuild, ctx, "--build-arg", EPOCH)
    assert ran == [(f"stage-0 RUN --mount=type=cache,{options},target=/c echo hi > /x", outcome)]
    # cached or run again, the step makes the same layer: the mount leaves no trace in it
    assert _layers(pybuild, "app:1") == layers
    if outcome == "CACHED":
        assert digest == before


PLATFORMLESS = """\
FROM --platform=$BUILDPLATFORM busybox:latest AS files
RUN echo data > /data
FROM scratch
COPY --from=files /data /data
"""


def test_a_copy_in_a_scratch_stage_does_not_depend_on_the_platform(pybuild, tmp_path):
    ctx = write_context(tmp_path / "ctx", PLATFORMLESS)
    _build(pybuild, ctx, "--build-arg", EPOCH, "--platform", "linux/amd64")
    ran, _digest = _build(pybuild, ctx, "--build-arg", EPOCH, "--platform", "linux/arm64")
    assert ran == [
        ("files RUN echo data > /data", "CACHED"),
        ("stage-1 COPY --from=files /data /data", "CACHED"),
    ]
    assert _inspect(pybuild, "app:1")["Architecture"] == "arm64"


def test_a_missing_remote_cache_blob_is_named_as_the_reason(tmp_path, busybox_dir):
    ctx = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo one > /one\nRUN echo two > /two\n")
    cache = tmp_path / "cache"
    writer, reader = Pybuild(tmp_path / "a"), Pybuild(tmp_path / "b")
    for tool in (writer, reader):
        tool("import", str(busybox_dir), "busybox:latest")
    writer("build", "-t", "app:1", "--build-arg", EPOCH, "--cache-to", f"type=local,dest={cache}", str(ctx))
    missing = _cache_blob(cache, _inspect(writer, "app:1")["RootFS"]["diff_ids"][1])
    (cache / "blobs/sha256" / missing[7:]).unlink()
    # the epoch makes the step that runs again make the same layer, so the next one hits in the cache
    ran, _digest = _build(reader, ctx, "--build-arg", EPOCH, "--cache-from", f"type=local,src={cache}")
    assert ran == [
        ("stage-0 RUN echo one > /one", f"cached layer {missing} missing from {cache}"),
        ("stage-0 RUN echo two > /two", "CACHED"),
    ]


# --- also found -----------------------------------------------------------------------------------------------
def test_an_image_without_config_instructions_is_created_at_its_last_step(pybuild, tmp_path):
    ctx = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo x > /x\n")
    _build(pybuild, ctx, "--build-arg", EPOCH)
    # BuildKit v0.13: created is the epoch; with FROM alone the base's created is kept (checked below)
    assert _inspect(pybuild, "app:1")["Created"] == "2001-09-09T01:46:40Z"
    (ctx / "Buildfile").write_text("FROM busybox:latest\n")
    _build(pybuild, ctx, "--build-arg", EPOCH)
    assert _inspect(pybuild, "app:1")["Created"] == _inspect(pybuild, "busybox:latest")["Created"]


def test_bare_pull_is_a_flag(pybuild, tmp_path):
    ctx = write_context(tmp_path / "ctx", "FROM scratch\nCOPY a.txt /a.txt\n", {"a.txt": "a\n"})
    pybuild("build", "--pull", "-t", "pulled:1", str(ctx))  # buildx: --pull takes no separate value
    pybuild("build", "--pull=false", "-t", "pulled:1", str(ctx))
    assert _layers(pybuild, "pulled:1")
    # a policy word after it is still its value, as pybuild's --pull always took one
    pybuild("build", "--pull", "never", "-t", "pulled:2", str(ctx))
    assert _layers(pybuild, "pulled:2") == _layers(pybuild, "pulled:1")
