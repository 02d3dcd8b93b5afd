"""``type=local``: the cache as an OCI layout directory a CI system keeps between runs; ``mode=min|max``;
damaged or missing blobs in it; a reader never sees half an index while an export replaces it."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import threading
from pathlib import Path

import builder
from builder.sharedcache.export import export_cache
from builder.sharedcache.remote import open_remote
from builder.sharedcache.spec import parse_cache_spec
from builder.store import Store
from tests.build.conftest import write_context
from tests.sharedcache.conftest import BUILDFILE, LAYER_STEPS, MARKERS

CACHE_TYPE = "application/vnd.pybuild.cache.config.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
UNCOMPRESSED = "containerd.io/uncompressed"


def _index(directory: Path) -> tuple[dict, dict]:
    """(the cache manifest, the records of its index) read from an OCI layout directory."""
    index = json.loads((directory / "index.json").read_text())
    (entry,) = index["manifests"]
    manifest = json.loads((directory / "blobs/sha256" / entry["digest"][7:]).read_text())
    if manifest["mediaType"] == OCI_INDEX:  # the default layout: the layers, then the cache index
        manifest = {**manifest, "config": manifest["manifests"][-1], "layers": manifest["manifests"][:-1]}
    records = json.loads((directory / "blobs/sha256" / manifest["config"]["digest"][7:]).read_text())
    return manifest, records


def _diff_ids(cli, ref: str) -> list[str]:
    return json.loads(cli("inspect", ref).out)[0]["RootFS"]["diff_ids"]


def _cache_blobs(directory: Path) -> dict[str, Path]:
    """diff_id → the file in the cache directory holding that layer's blob (the cache manifest's
    ``containerd.io/uncompressed`` annotation names the diff_id)."""
    manifest, _ = _index(directory)
    return {
        layer["annotations"][UNCOMPRESSED]: directory / "blobs/sha256" / layer["digest"][7:]
        for layer in manifest["layers"]
    }


def _runner_b(other_cli, busybox_dir: Path):
    other_cli("import", str(busybox_dir), "busybox:latest")
    return other_cli


def test_a_directory_cache_from_the_api_gives_a_cli_build_every_step_cached(
    cli, other_cli, busybox, busybox_dir, tmp_path
):
    context = write_context(tmp_path / "c", BUILDFILE.format(base="busybox:latest"), {"a.txt": "hello\n"})
    cache = tmp_path / "ci-cache"
    builder.build(context, tags=["app:1"], root=cli.root, cache_to=[f"type=local,dest={cache}"])
    manifest, records = _index(cache)
    assert manifest["mediaType"] == OCI_INDEX and manifest["config"]["mediaType"] == CACHE_TYPE
    assert json.loads((cache / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert len(records) == LAYER_STEPS
    # the layers of the build's steps, each a gzip blob of the layer (its content hashes to the diff_id)
    assert {layer["mediaType"] for layer in manifest["layers"]} == {GZIP_LAYER}
    blobs = _cache_blobs(cache)
    assert set(blobs) == set(_diff_ids(cli, "app:1")[1:])
    assert all(
        f"sha256:{hashlib.sha256(gzip.decompress(b.read_bytes())).hexdigest()}" == d for d, b in blobs.items()
    )

    runner_b = _runner_b(other_cli, busybox_dir)
    built = runner_b(
        "build", "--progress=plain", "-t", "app:1", "--cache-from", f"type=local,src={cache}", str(context)
    )

    assert len(re.findall(r"^#\d+ CACHED$", built.err, re.MULTILINE)) == LAYER_STEPS
    assert not any(marker in built.err for marker in MARKERS) and "running:" not in built.err
    assert runner_b("run", "app:1", "cat", "/copy", "/app/three").out == "hello\nthree\n"
    # what was fetched is now in B's own cache: a build without --cache-from hits too
    again = runner_b("build", "--progress=plain", "-t", "app:1", str(context))
    assert f"0 steps ran, {LAYER_STEPS} cached" in again.err


STAGES = """\
FROM busybox:latest AS builder
RUN echo MARK""ER-BUILDER && echo built > /out && echo other > /other
FROM busybox:latest
COPY --from=builder /out /out
RUN echo MARK""ER-FINAL && cat /out > /again
"""


def test_mode_min_exports_the_final_image_steps_and_max_every_stage(
    cli, other_cli, busybox, busybox_dir, tmp_path
):
    context = write_context(tmp_path / "c", STAGES)
    small, full = tmp_path / "min", tmp_path / "max"
    cli(
        "build",
        "--cache-to",
        f"type=local,dest={small}",
        "--cache-to",
        f"type=local,dest={full},mode=max",
        str(context),
    )
    assert {rec["parts"]["keyword"] for rec in _index(small)[1].values()} == {"COPY", "RUN"}
    assert len(_index(small)[1]) == 2
    assert len(_index(full)[1]) == 3

    runner_b = _runner_b(other_cli, busybox_dir)
    with_min = runner_b("build", "--progress=plain", "--cache-from", f"type=local,src={small}", str(context))
    # the builder stage runs again; its file is the same, so the final stage's steps still hit
    assert "MARKER-BUILDER" in with_min.err and "MARKER-FINAL" not in with_min.err
    assert "1 steps ran, 2 cached" in with_min.err


def test_a_damaged_blob_runs_its_step_and_a_missing_one_is_a_plain_miss(
    cli, other_cli, busybox, busybox_dir, tmp_path
):
    context = write_context(tmp_path / "c", BUILDFILE.format(base="busybox:latest"), {"a.txt": "hello\n"})
    cache = tmp_path / "ci-cache"
    cli("build", "-t", "app:1", "--cache-to", f"type=local,dest={cache}", str(context))
    blobs, layers = _cache_blobs(cache), _diff_ids(cli, "app:1")
    damaged = blobs[layers[-1]]  # RUN MARKER-THREE
    damaged.write_bytes(bytes(len(damaged.read_bytes())))
    runner_b = _runner_b(other_cli, busybox_dir)

    built = runner_b(
        "build", "--progress=plain", "-t", "app:1", "--cache-from", f"type=local,src={cache}", str(context)
    )
    assert "MARKER-THREE" in built.err and "MARKER-ONE" not in built.err and "MARKER-TWO" not in built.err
    assert "building without that cache record" in built.err
    assert runner_b("run", "app:1", "cat", "/app/three").out == "three\n"

    blobs[layers[2]].unlink()  # RUN MARKER-ONE, in a fresh runner
    runner_c = type(other_cli)(tmp_path / "store3", tmp_path / "docker-config")
    runner_c("import", str(busybox_dir), "busybox:latest")
    built = runner_c("build", "--progress=plain", "--cache-from", f"type=local,src={cache}", str(context))
    assert "MARKER-ONE" in built.err and "building without" not in built.err  # missed at lookup


def test_a_reader_never_sees_half_an_index_while_exports_replace_it(tmp_path):
    cache = tmp_path / "cache"
    with Store.open(tmp_path / "store") as store:
        layers = [store.put_blob(os.urandom(2048)) for _ in range(4)]
        variants = [_records(layers[:2], "first"), _records(layers, "second")]
        export_cache(store, parse_cache_spec(f"type=local,dest={cache}", export=True), variants[0], None)
        source = parse_cache_spec(f"type=local,src={cache}", export=False)
        problems: list[str] = []
        seen: set[int] = set()
        done = threading.Event()

        def read() -> None:
            while not done.is_set():
                remote = open_remote(source, store, problems.append)
                if remote is not None:
                    seen.add(len(remote.records))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for n in range(40):
                spec = parse_cache_spec(f"type=local,dest={cache}", export=True)
                export_cache(store, spec, variants[n % 2], None)
        finally:
            done.set()
            reader.join()
    assert problems == [] and seen <= {2, 4} and seen


def _records(layers: list[str], tag: str) -> dict:
    records = {}
    for number, digest in enumerate(layers):
        key = f"{number:02d}{tag}".encode().hex().ljust(64, "0")[:64]
        result = {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": digest,
            "size": 2048,
            "diff_id": "sha256:" + f"{number}".rjust(64, "0"),
        }
        records[key] = {"parts": {"keyword": "RUN", "n": number}, "result": result}
    return records


def test_a_damaged_parent_found_when_a_step_runs_on_it_makes_that_parent_run_too(
    cli, other_cli, busybox, busybox_dir, tmp_path
):
    context = write_context(tmp_path / "c", BUILDFILE.format(base="busybox:latest"), {"a.txt": "hello\n"})
    cache = tmp_path / "ci-cache"
    cli("build", "-t", "app:1", "--cache-to", f"type=local,dest={cache}", str(context))
    damaged = _cache_blobs(cache)[_diff_ids(cli, "app:1")[4]]  # RUN MARKER-TWO, under the changed step
    damaged.write_bytes(bytes(len(damaged.read_bytes())))
    changed = BUILDFILE.format(base="busybox:latest").replace("echo three >", "echo changed >")
    other = write_context(tmp_path / "changed", changed, {"a.txt": "hello\n"})
    runner_b = _runner_b(other_cli, busybox_dir)

    built = runner_b(
        "build", "--progress=plain", "-t", "app:2", "--cache-from", f"type=local,src={cache}", str(other)
    )

    assert "MARKER-TWO" in built.err and "MARKER-THREE" in built.err and "MARKER-ONE" not in built.err
    assert runner_b("run", "app:2", "cat", "/app/two", "/app/three").out == "hi two\nchanged\n"


MOUNTED = """\
FROM busybox:latest AS tools
RUN echo tool > /tool
FROM busybox:latest
RUN --mount=type=bind,from=tools,target=/t cat /t/tool > /got
"""


def test_a_re_export_to_a_directory_fetches_the_blobs_it_never_needed_but_does_not_unpack_them(
    cli, other_cli, busybox, busybox_dir, tmp_path
):
    context = write_context(tmp_path / "c", MOUNTED)
    first, second = tmp_path / "first", tmp_path / "second"
    cli("build", "--cache-to", f"type=local,dest={first},mode=max", str(context))
    runner_b = _runner_b(other_cli, busybox_dir)

    built = runner_b(
        "build",
        "--progress=plain",
        "--cache-from",
        f"type=local,src={first}",
        "--cache-to",
        f"type=local,dest={second},mode=max",
        str(context),
    )

    assert "0 steps ran, 2 cached" in built.err
    assert _index(second)[1] == _index(first)[1]
    tools = next(r["result"] for r in _index(first)[1].values() if "echo tool" in " ".join(r["parts"]["argv"]))
    assert (second / "blobs/sha256" / tools["digest"][7:]).read_bytes() == (
        first / "blobs/sha256" / tools["digest"][7:]
    ).read_bytes()
    with Store.open(runner_b.root) as store:
        assert not store.has_layer(tools["diff_id"])  # the tools stage was never mounted
