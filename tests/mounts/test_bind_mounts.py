"""``RUN --mount=type=bind``: from a stage, an image or the context; read-only unless ``rw``, whose writes are
thrown away; nothing of it is committed; what it binds is part of the step's cache key."""

from __future__ import annotations

from tests.mounts.conftest import added_entries, step_output, write_context

FROM_STAGE = """FROM busybox AS tools
RUN mkdir -p /opt/tools && echo tool-v1 > /opt/tools/version && echo big > /opt/tools/data
FROM busybox
RUN --mount=type=bind,from=tools,source=/opt/tools,target=/mnt/tools \\
    sh -c 'cat /mnt/tools/version; cp /mnt/tools/version /copied; touch /mnt/tools/x 2>&1 || echo read-only'
RUN --mount=type=bind,from=tools,target=/t,rw \
    sh -c 'echo scribble > /t/opt/tools/version; cat /t/opt/tools/version'
RUN --mount=type=bind,from=tools,target=/t cat /t/opt/tools/version
"""


def test_a_stage_is_visible_and_nothing_of_it_is_committed(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", FROM_STAGE)
    result = pybuild("--progress", "plain", "-t", "bind:1", str(context))
    cached, lines = step_output(result.err, "target=/mnt/tools")
    assert lines[0] == "tool-v1" and lines[-1] == "read-only"
    assert step_output(result.err, "target=/t,rw")[1] == ["scribble"]
    assert step_output(result.err, "target=/t cat")[1] == ["tool-v1"]  # the rw write was thrown away
    # only what the commands wrote themselves: no mountpoint, no byte of the bound stage
    assert added_entries(pybuild, "bind:1", tmp_path) == [["copied"], [], []]


def test_an_image_and_the_context(pybuild, tmp_path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox\n"
        "RUN --mount=type=bind,from=busybox:latest,target=/img test -x /img/bin/busybox && echo image-ok\n"
        "RUN --mount=type=bind,source=src,target=/src sh -c 'ls /src; cat /src/app.txt'\n"
        "RUN --mount=type=bind,target=/ctx,rw sh -c 'rm /ctx/src/app.txt && ls /ctx'\n",
        {"src/app.txt": "app-v1\n", "src/secret.key": "ignored\n", ".dockerignore": "src/*.key\n"},
    )
    result = pybuild("--progress", "plain", "-t", "ctx:1", str(context))
    assert step_output(result.err, "from=busybox")[1] == ["image-ok"]
    # the context as BuildKit receives it: without what the ignore file excludes
    assert step_output(result.err, "source=src")[1] == ["app.txt", "app-v1"]
    assert (context / "src/app.txt").read_text() == "app-v1\n"  # rw writes never reach the context
    assert added_entries(pybuild, "ctx:1", tmp_path) == [[], [], []]


def test_the_bound_content_is_part_of_the_key(pybuild, tmp_path):
    files = {"src/app.txt": "v1\n", "other.txt": "x\n"}
    text = "FROM busybox\nRUN --mount=type=bind,source=src,target=/src cat /src/app.txt\n"
    context = write_context(tmp_path / "ctx", text, files)
    pybuild(str(context))
    (context / "other.txt").write_text("changed\n")
    assert step_output(pybuild("--progress", "plain", str(context)).err, "RUN")[0] is True
    (context / "src/app.txt").write_text("v2\n")
    assert step_output(pybuild("--progress", "plain", str(context)).err, "RUN") == (False, ["v2"])


def test_a_changed_stage_misses(pybuild, tmp_path):
    text = (
        "FROM busybox AS s\nRUN echo {v} > /v\nFROM busybox\nRUN --mount=type=bind,from=s,target=/s cat /s/v\n"
    )
    context = write_context(tmp_path / "ctx", text.format(v=1))
    pybuild(str(context))
    context = write_context(tmp_path / "ctx", text.format(v=2))
    assert step_output(pybuild("--progress", "plain", str(context)).err, "from=s") == (False, ["2"])


def test_a_missing_source_is_an_error(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nRUN --mount=source=nope,target=/n true\n")
    result = pybuild(str(context), check=False)
    assert result.returncode == 1 and "Buildfile:2:" in result.err and "nope" in result.err


def test_tmpfs(pybuild, tmp_path):
    # as BuildKit v0.13 (tests/build/buildkit/run-mounts): a tmpfs is drwxrwxrwt root, size= in effect
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=2m sh -c "
        "'ls -lnd /scratch; df -k /scratch | tail -1; echo x > /scratch/f'\n",
    )
    result = pybuild("--progress", "plain", "-t", "tmp:1", str(context))
    mode, df = step_output(result.err, "tmpfs")[1]
    assert mode.split()[:4] == ["drwxrwxrwt", "2", "0", "0"]
    assert df.split()[:2] == ["tmpfs", "2048"]
    assert added_entries(pybuild, "tmp:1", tmp_path) == [[]]


def test_a_context_source_leading_outside_is_refused(pybuild, tmp_path):
    """A bind of the context goes no further than the context: not through a symlink out of it (read-only,
    ``rw`` or with an ignore file), nor by ``..`` (issue 9, as for COPY sources)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "key").write_text("host secret\n")
    for options, files in (("", {}), (",rw", {}), ("", {".dockerignore": "*.tmp\n"})):
        context = write_context(
            tmp_path / f"ctx{options}{len(files)}",
            f"FROM busybox\nRUN --mount=type=bind,source=dirlink,target=/m{options} cat /m/key\n",
            files,
        )
        (context / "dirlink").symlink_to(outside)
        result = pybuild("--progress", "plain", str(context), check=False)
        assert result.returncode == 1 and "host secret" not in result.err
        assert "Buildfile:2:1: error: " in result.err
        assert (
            f'--mount source "dirlink" resolves outside the build context through symlink dirlink -> {outside}'
            in result.err
        )
    climbing = write_context(
        tmp_path / "up", "FROM busybox\nRUN --mount=type=bind,source=../outside,target=/m ls /m\n"
    )
    result = pybuild(str(climbing), check=False)
    assert (
        result.returncode == 1
        and '--mount source "../outside" resolves outside the build context' in result.err
    )
    # a link that stays inside is followed
    inside = write_context(
        tmp_path / "in", "FROM busybox\nRUN --mount=type=bind,source=l,target=/m,rw cat /m/f\n", {"d/f": "ok\n"}
    )
    (inside / "l").symlink_to("d")
    assert step_output(pybuild("--progress", "plain", str(inside)).err, "target=/m,rw")[1] == ["ok"]
