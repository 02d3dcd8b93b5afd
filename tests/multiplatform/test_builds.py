"""Builds for foreign and several platforms: emulated RUN steps, BUILDPLATFORM stages, image indexes in the
store and in exports, per-platform caching, and a missing emulator refused before any step runs."""

from __future__ import annotations

import json
import platform as host_platform
import tarfile
from pathlib import Path

import builder
from tests.build.conftest import write_context

HOST_MACHINE = host_platform.machine()
INDEX = "application/vnd.oci.image.index.v1+json"


def build(mp, tmp_path: Path, buildfile: str, *args: str, check: bool = True, env=None):
    context = write_context(tmp_path / "ctx", buildfile)
    return mp("build", *args, str(context), check=check, env=env)


def inspect(mp, name: str, template: str, *args: str) -> str:
    return mp("inspect", *args, "-f", template, name).out.strip()


def test_imported_bases_keep_their_platforms(mp):
    assert inspect(mp, "bb:arm64", "{{.Os}}/{{.Architecture}}") == "linux/arm64"
    assert inspect(mp, "bb:amd64", "{{.Os}}/{{.Architecture}}") == "linux/amd64"
    assert json.loads(inspect(mp, "bb:multi", "{{json .Index.Platforms}}")) == ["linux/amd64", "linux/arm64"]
    assert inspect(mp, "bb:multi", "{{.Architecture}}", "--platform", "linux/arm64") == "arm64"


def test_run_for_arm64_executes_arm64_binaries(mp, tmp_path):
    out = tmp_path / "out"
    build(mp, tmp_path, "FROM bb:multi\nRUN uname -m > /arch\n", "--platform", "linux/arm64", "-t", "app:arm")
    build(mp, tmp_path, "FROM bb:multi\nRUN uname -m > /arch\n", "--platform", "linux/arm64", "-o",
          f"type=local,dest={out}")  # fmt: skip
    assert (out / "arch").read_text() == "aarch64\n"
    # one platform gives one image, as BuildKit does: a manifest, not an index
    assert inspect(mp, "app:arm", "{{.Os}}/{{.Architecture}} {{json .Index}}") == "linux/arm64 null"


def test_buildplatform_stage_runs_natively_and_the_final_stage_emulates(mp, tmp_path):
    buildfile = (
        "FROM --platform=$BUILDPLATFORM bb:multi AS tools\n"
        "ARG BUILDPLATFORM TARGETPLATFORM\n"
        'RUN uname -m > /native && echo "$BUILDPLATFORM $TARGETPLATFORM" > /seen\n'
        "FROM bb:multi\n"
        "ARG TARGETOS TARGETARCH TARGETVARIANT BUILDARCH\n"
        "COPY --from=tools /native /seen /\n"
        'RUN uname -m > /arch && echo "$TARGETOS $TARGETARCH [$TARGETVARIANT] $BUILDARCH" > /args\n'
    )
    out = tmp_path / "out"
    build(mp, tmp_path, buildfile, "--platform", "linux/arm64", "-o", f"type=local,dest={out}")
    host = builder.platforms.Platform.host()
    assert (out / "native").read_text() == f"{HOST_MACHINE}\n"
    assert (out / "seen").read_text() == f"{host} linux/arm64\n"
    assert (out / "arch").read_text() == "aarch64\n"
    assert (out / "args").read_text() == f"linux arm64 [] {host.architecture}\n"


def test_several_platforms_make_one_index(mp, tmp_path):
    buildfile = "FROM bb:multi\nARG TARGETPLATFORM\nRUN uname -m > /arch && echo $TARGETPLATFORM > /platform\n"
    archive, local = tmp_path / "out.tar", tmp_path / "local"
    result = build(
        mp, tmp_path, buildfile, "--platform", "linux/amd64,linux/arm64", "-t", "app:1", "--progress", "plain",
        "-o", f"type=oci,dest={archive}", "-o", f"type=local,dest={local}",
    )  # fmt: skip
    assert "[linux/arm64 stage-0 3/3] RUN uname -m" in result.err
    assert (local / "linux_amd64" / "arch").read_text() == f"{HOST_MACHINE}\n"
    assert (local / "linux_arm64" / "arch").read_text() == "aarch64\n"
    assert (local / "linux_arm64" / "platform").read_text() == "linux/arm64\n"

    # in the store: the name points at the index; each platform's image has the right config
    assert json.loads(inspect(mp, "app:1", "{{json .Index.Platforms}}")) == ["linux/amd64", "linux/arm64"]
    assert json.loads(inspect(mp, "app:1", "{{json .RepoTags}}")) == ["app:1"]
    for arch in ("amd64", "arm64"):
        assert (
            inspect(mp, "app:1", "{{.Os}} {{.Architecture}}", "--platform", f"linux/{arch}") == f"linux {arch}"
        )
    assert mp("run", "app:1", "cat", "/arch").out == f"{HOST_MACHINE}\n"

    # the OCI layout: one named entry of the index type, a nested index with one manifest per platform
    with tarfile.open(archive) as tar:

        def blob(digest: str) -> dict:
            return json.load(tar.extractfile("blobs/sha256/" + digest.removeprefix("sha256:")))

        top = json.load(tar.extractfile("index.json"))
        (entry,) = top["manifests"]
        assert entry["mediaType"] == INDEX
        assert entry["annotations"]["io.containerd.image.name"] == "docker.io/library/app:1"
        nested = blob(entry["digest"])
        assert nested["mediaType"] == INDEX
        assert [m["platform"] for m in nested["manifests"]] == [
            {"architecture": "amd64", "os": "linux"},
            {"architecture": "arm64", "os": "linux"},
        ]
        for manifest in nested["manifests"]:
            config = blob(blob(manifest["digest"])["config"]["digest"])
            assert (config["os"], config["architecture"]) == ("linux", manifest["platform"]["architecture"])


def test_platforms_are_cached_independently(mp, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM bb:multi\nRUN uname -m > /arch\nRUN echo done > /done\n")
    args = {"root": mp.root, "build_args": {"SOURCE_DATE_EPOCH": "0"}, "tags": ["app:1"]}
    first = builder.build(context, platform="linux/amd64", **args)
    assert [s.cached for s in first.steps if s.layer] == [False, False]
    both = builder.build(context, platform="linux/amd64,linux/arm64", **args)
    # amd64 hits; arm64 has its own keys (the platform is part of them), so it runs
    assert [s.cached for s in both.steps if s.layer] == [True, True, False, False]
    assert both.platforms["linux/amd64"] == first.manifest_digest
    again = builder.build(context, platform="linux/amd64,linux/arm64", **args)
    assert [s.cached for s in again.steps if s.layer] == [True] * 4
    assert (
        again.manifest_digest
        == both.manifest_digest
        == mp("inspect", "-f", "{{.Index.Digest}}", "app:1").out.strip()
    )
    assert again.image_id == again.manifest_digest


def test_missing_emulator_fails_before_any_step(mp, tmp_path):
    empty = tmp_path / "no-binfmt"
    empty.mkdir()
    env = {"PYBUILD_BINFMT_DIR": str(empty)}
    buildfile = "FROM bb:multi\nRUN echo one > /one\nFROM bb:multi\nCOPY --from=0 /one /\nRUN uname -m\n"
    result = build(mp, tmp_path, buildfile, "--platform", "linux/amd64,linux/arm64", "--progress", "plain",
                   check=False, env=env)  # fmt: skip
    assert result.returncode == 1
    assert "Buildfile:2" in result.err and "no binfmt_misc handler runs arm64 executables" in result.err
    assert "apt-get install qemu-user-static" in result.err
    assert "RUN echo one" not in result.err.split("error:")[0]  # no step started, not even amd64's
    # a foreign build without RUN steps needs no emulator
    build(mp, tmp_path, "FROM bb:multi\nCOPY Buildfile /\n", "--platform", "linux/arm64", env=env)


def test_load_keeps_the_platform(mp, tmp_path, rootfs):
    layout, docker = tmp_path / "multi.tar", tmp_path / "arm.tar"
    build(mp, tmp_path, "FROM bb:multi\nRUN uname -m > /arch\n", "--platform", "linux/amd64,linux/arm64", "-t",
          "app:1", "-o", f"type=oci,dest={layout}")  # fmt: skip
    build(mp, tmp_path, "FROM bb:multi\nRUN uname -m > /arch\n", "--platform", "linux/arm64", "-t", "app:arm",
          "-o", f"type=docker,dest={docker}")  # fmt: skip
    other = type(mp)(tmp_path / "other-store")
    other("load", "-i", str(layout), "--platform", "linux/arm64")
    assert inspect(other, "app:1", "{{.Os}}/{{.Architecture}} {{json .Index}}") == "linux/arm64 null"
    # without --platform the whole index is loaded: the digest it was exported as, every platform served by
    # the name, each the image the build made (its ID; the export compressed the layers the store keeps as tars)
    whole = type(mp)(tmp_path / "whole-store")
    assert whole("load", "-i", str(layout)).out == "Loaded image: app:1\n"
    with tarfile.open(layout) as tar:
        (exported,) = json.load(tar.extractfile("index.json"))["manifests"]
    assert inspect(whole, "app:1", "{{.Index.Digest}}") == exported["digest"]
    for arch in ("amd64", "arm64"):
        built = inspect(mp, "app:1", "{{.Id}}", "--platform", f"linux/{arch}")
        assert built.startswith("sha256:")
        assert inspect(whole, "app:1", "{{.Id}}", "--platform", f"linux/{arch}") == built
    assert whole("run", "app:1", "cat", "/arch").out == f"{HOST_MACHINE}\n"
    assert inspect(whole, "app:1", "{{.Architecture}}", "--platform", "linux/arm64") == "arm64"
    other("load", "-i", str(docker))
    assert inspect(other, "app:arm", "{{.Os}}/{{.Architecture}}") == "linux/arm64"
    assert other("run", "app:arm", "cat", "/arch").out == "aarch64\n"


def test_docker_archive_cannot_hold_several_platforms(mp, tmp_path):
    result = build(mp, tmp_path, "FROM bb:multi\n", "--platform", "linux/amd64,linux/arm64", "-o",
                   f"type=docker,dest={tmp_path / 'x.tar'}", check=False)  # fmt: skip
    assert result.returncode == 2
    assert "cannot hold a multi-platform image" in result.err and "type=oci" in result.err


def test_index_entries_name_the_requested_platforms(mp, tmp_path):
    """A final stage pinned to one platform gives that image for every requested platform; the index states
    the requested platform per entry, as BuildKit's exporter does."""
    buildfile = "FROM --platform=linux/arm64 bb:multi\nRUN uname -m > /arch\n"
    build(mp, tmp_path, buildfile, "--platform", "linux/amd64,linux/arm64", "-t", "pinned:1")
    manifests = json.loads(inspect(mp, "pinned:1", "{{json .Index.Manifests}}"))
    assert [m["platform"]["architecture"] for m in manifests] == ["amd64", "arm64"]
    assert manifests[0]["digest"] == manifests[1]["digest"]
    assert inspect(mp, "pinned:1", "{{.Architecture}}", "--platform", "linux/amd64") == "arm64"


def test_tagging_an_index_keeps_every_platform(mp):
    mp("tag", "bb:multi", "again:1")
    assert json.loads(inspect(mp, "again:1", "{{json .Index.Platforms}}")) == ["linux/amd64", "linux/arm64"]
    index_digest = inspect(mp, "bb:multi", "{{.Index.Digest}}")
    mp("tag", f"bb@{index_digest}", "again:2")
    assert inspect(mp, "again:2", "{{.Index.Digest}}") == index_digest
    mp("tag", "bb:arm64", "single:1")  # a single image stays a single image
    assert inspect(mp, "single:1", "{{.Architecture}} {{json .Index}}") == "arm64 null"


def test_run_picks_the_requested_platform_of_an_index(mp):
    assert mp("run", "--platform", "linux/arm64", "bb:multi", "uname", "-m").out == "aarch64\n"
    assert mp("run", "bb:multi", "uname", "-m").out == f"{HOST_MACHINE}\n"
    assert mp("run", "bb:arm64", "uname", "-m").out == "aarch64\n"
    # and without an emulator, a clear error rather than exec format error
    env = {"PYBUILD_BINFMT_DIR": str(mp.root.parent / "no-binfmt-for-run")}
    Path(env["PYBUILD_BINFMT_DIR"]).mkdir(exist_ok=True)
    failed = mp("run", "--platform", "linux/arm64", "bb:multi", "true", check=False, env=env)
    assert failed.returncode != 0 and "no binfmt_misc handler runs arm64 executables" in failed.err
    assert "Traceback" not in failed.err


def test_missing_emulator_for_an_onbuild_run_is_refused_at_from(mp, tmp_path):
    build(mp, tmp_path / "base", "FROM bb:multi\nONBUILD RUN uname -m > /arch\n", "--platform", "linux/arm64",
          "-t", "onbuild-base:arm64")  # fmt: skip
    empty = tmp_path / "no-binfmt"
    empty.mkdir()
    result = build(mp, tmp_path / "child", "FROM onbuild-base:arm64\nCOPY Buildfile /\n", "--platform",
                   "linux/arm64", check=False, env={"PYBUILD_BINFMT_DIR": str(empty)})  # fmt: skip
    assert result.returncode == 1
    assert "Buildfile:1" in result.err and "no binfmt_misc handler runs arm64 executables" in result.err
    # with the emulator, the trigger runs for arm64
    out = tmp_path / "out"
    build(mp, tmp_path / "child", "FROM onbuild-base:arm64\n", "--platform", "linux/arm64", "-o",
          f"type=local,dest={out}")  # fmt: skip
    assert (out / "arch").read_text() == "aarch64\n"
