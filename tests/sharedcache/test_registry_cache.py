"""Two runners share a build cache through a real registry: runner A (``cli``) builds with ``--cache-to
type=registry``, runner B (``other_cli``, an empty store) builds the same Buildfile with ``--cache-from``.
Blob transfers are counted at a `FaultProxy` in front of the registry."""

from __future__ import annotations

import json
import re

import requests

from tests.build.conftest import write_context
from tests.sharedcache.conftest import BUILDFILE, LAYER_STEPS, MARKERS

CACHE_TYPE = "application/vnd.pybuild.cache.config.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
UNCOMPRESSED = "containerd.io/uncompressed"


def _inspect(cli, ref: str) -> dict:
    return json.loads(cli("inspect", ref).out)[0]


def _layer_digests(cli, ref: str) -> list[str]:
    return [layer["digest"] for layer in _inspect(cli, ref)["Manifest"]["layers"]]


def _diff_ids(cli, ref: str) -> list[str]:
    return _inspect(cli, ref)["RootFS"]["diff_ids"]


def _cache_blobs(manifest: dict) -> dict[str, str]:
    """diff_id → digest of the blob the cache document keeps of that layer (its ``containerd.io/uncompressed``
    annotation names the diff_id)."""
    return {layer["annotations"][UNCOMPRESSED]: layer["digest"] for layer in manifest["layers"]}


def _blob_gets(proxy) -> list[str]:
    return [entry.path.rsplit("/", 1)[1] for entry in proxy.requests_matching("GET", r"/blobs/sha256:")]


def _cache_manifest(registry, path: str, tag: str) -> dict:
    """The cache document as the registry serves it, with ``config`` and ``layers`` read out of an index
    (the default layout: the layers' descriptors, then the cache index's) as from an image manifest."""
    response = requests.get(
        f"http://{registry.domain}/v2/{path}/manifests/{tag}",
        headers={"Accept": f"{OCI_INDEX}, application/vnd.oci.image.manifest.v1+json"},
        timeout=10,
    )
    response.raise_for_status()
    doc = response.json()
    if doc["mediaType"] == OCI_INDEX:
        return {**doc, "config": doc["manifests"][-1], "layers": doc["manifests"][:-1]}
    return doc


def _cached_lines(err: str) -> int:
    return len(re.findall(r"^#\d+ CACHED$", err, re.MULTILINE))


def test_second_runner_runs_no_step_and_fetches_only_the_final_image_layers(
    cli, other_cli, proxy, registry, context, base
):
    ref = f"{proxy.domain}/ci/app:buildcache"
    cli("build", "-t", "app:1", "--cache-to", f"type=registry,ref={ref}", str(context))
    proxy.log.clear()

    other_cli("pull", base)  # the base comes straight from the registry, not through the proxy
    built = other_cli(
        "build", "--progress=plain", "-t", "app:1", "--cache-from", f"type=registry,ref={ref}", str(context)
    )

    assert _cached_lines(built.err) == LAYER_STEPS
    assert "running:" not in built.err and not any(marker in built.err for marker in MARKERS)
    assert f"0 steps ran, {LAYER_STEPS} cached" in built.err
    # the same image as runner A's (A keeps its own layers unpacked, B has them as the cache sent them)
    assert _inspect(other_cli, "app:1")["Id"] == _inspect(cli, "app:1")["Id"]
    manifest = _cache_manifest(registry, "ci/app", "buildcache")
    # BuildKit's default layout: an OCI index of the layers, the cache index's descriptor last
    assert manifest["mediaType"] == OCI_INDEX and manifest["config"]["mediaType"] == CACHE_TYPE
    cached = _cache_blobs(manifest)
    assert {layer["mediaType"] for layer in manifest["layers"]} == {GZIP_LAYER}
    step_layers = [cached[d] for d in _diff_ids(cli, "app:1")[1:]]  # all but the base's, as the cache has them
    gets = _blob_gets(proxy)
    assert sorted(gets) == sorted([manifest["config"]["digest"], *step_layers])  # each once, nothing else
    assert _layer_digests(other_cli, "app:1")[1:] == step_layers
    run = other_cli("run", "app:1", "cat", "/copy", "/app/two", "/app/three")
    assert run.out == "from the context\nhi two\nthree\n"
    # byte for byte the image runner A sends out: its push compresses each layer once, as its export did
    pushed = cli("push", "-q", "app:1", f"{registry.domain}/ci/app:1").out.strip()
    assert pushed == _inspect(other_cli, "app:1")["Digest"]


def test_a_changed_step_runs_on_fetched_parents_and_the_old_layer_is_never_fetched(
    cli, other_cli, proxy, registry, context, base, tmp_path
):
    ref = f"{proxy.domain}/ci/app:buildcache"
    cli("build", "-t", "app:1", "--cache-to", f"type=registry,ref={ref},mode=max", str(context))
    cached = _cache_blobs(_cache_manifest(registry, "ci/app", "buildcache"))
    old_layers = [cached[d] for d in _diff_ids(cli, "app:1")[1:]]  # the steps' layers, as the cache has them
    proxy.log.clear()

    changed = BUILDFILE.format(base=base).replace("echo three >", "echo changed >")
    other = write_context(tmp_path / "changed", changed, {"a.txt": "from the context\n"})
    other_cli("pull", base)
    built = other_cli(
        "build", "--progress=plain", "-t", "app:2", "--cache-from", f"type=registry,ref={ref}", str(other)
    )

    assert "MARKER-THREE" in built.err and "MARKER-ONE" not in built.err and "MARKER-TWO" not in built.err
    assert f"1 steps ran, {LAYER_STEPS - 1} cached" in built.err
    gets = set(_blob_gets(proxy))
    assert set(old_layers[:-1]) <= gets  # the parents of the step that ran
    assert old_layers[-1] not in gets  # the layer it replaces
    assert other_cli("run", "app:2", "cat", "/app/two", "/app/three").out == "hi two\nchanged\n"


def test_a_corrupt_remote_layer_becomes_a_local_miss(cli, other_cli, proxy, registry, context, base):
    ref = f"{proxy.domain}/ci/app:buildcache"
    epoch = {"SOURCE_DATE_EPOCH": "1700000000"}  # a rerun of a step then makes the very same layer
    cli.env.update(epoch)
    other_cli.env.update(epoch)
    cli("build", "-t", "app:1", "--cache-to", f"type=registry,ref={ref}", str(context))
    cached = _cache_blobs(_cache_manifest(registry, "ci/app", "buildcache"))
    second_run_layer = cached[_diff_ids(cli, "app:1")[4]]  # RUN echo MARKER-TWO, as the cache keeps it
    proxy.add("GET", f"/blobs/{second_run_layer}", "corrupt", times=1000)

    other_cli("pull", base)
    built = other_cli(
        "build", "--progress=plain", "-t", "app:1", "--cache-from", f"type=registry,ref={ref}", str(context)
    )

    assert "MARKER-TWO" in built.err  # the step whose layer was refused ran here
    assert "MARKER-ONE" not in built.err and "MARKER-THREE" not in built.err
    assert "building without that cache record" in built.err
    assert _inspect(other_cli, "app:1")["Id"] == _inspect(cli, "app:1")["Id"]  # the same image
    assert other_cli("run", "app:1", "cat", "/app/two").out == "hi two\n"


def test_a_missing_cache_is_a_warning_and_the_build_runs(other_cli, registry, tmp_path, busybox_dir):
    other_cli("import", str(busybox_dir), "busybox:latest")
    context = write_context(tmp_path / "c", 'FROM busybox:latest\nRUN echo MARK""ER-ONE\n')
    built = other_cli(
        "build",
        "--progress=plain",
        "--cache-from",
        f"type=registry,ref={registry.domain}/no/cache:here",
        str(context),
    )
    assert "warning: cache from" in built.err and "no cache at" in built.err
    assert "MARKER-ONE" in built.err and "1 steps ran" in built.err


STAGES = """\
FROM {base} AS tools
RUN echo MARK""ER-TOOLS && echo tool > /tool
FROM {base}
RUN --mount=type=bind,from=tools,target=/t cat /t/tool > /got
"""


def test_layers_of_unused_steps_stay_remote_and_a_re_export_mounts_them(
    cli, other_cli, proxy, registry, base, tmp_path
):
    context = write_context(tmp_path / "stages", STAGES.format(base=base))
    first = f"{proxy.domain}/ci/stages:cache"
    cli("build", "-t", "stages:1", "--cache-to", f"type=registry,ref={first},mode=max", str(context))
    tools_layer = next(
        digest
        for diff_id, digest in _cache_blobs(_cache_manifest(registry, "ci/stages", "cache")).items()
        if diff_id not in _diff_ids(cli, "stages:1")
    )
    proxy.log.clear()

    other_cli("pull", base)
    second = f"{proxy.domain}/ci/stages2:cache"
    built = other_cli(
        "build",
        "--progress=plain",
        "-t",
        "stages:1",
        "--cache-from",
        f"type=registry,ref={first}",
        "--cache-to",
        f"type=registry,ref={second},mode=max",
        str(context),
    )

    assert "0 steps ran, 2 cached" in built.err
    assert tools_layer not in _blob_gets(proxy)  # the bind-mounted stage was never needed
    assert other_cli("run", "stages:1", "cat", "/got").out == "tool\n"
    # the re-export holds every layer, and none was uploaded: mounted from the first repository
    assert tools_layer in [
        layer["digest"] for layer in _cache_manifest(registry, "ci/stages2", "cache")["layers"]
    ]
    assert not proxy.requests_matching("PATCH", r"/ci/stages2/blobs/uploads/")
    assert len(proxy.requests_matching("PUT", r"/ci/stages2/blobs/uploads/")) == 1  # only the new index blob
    mounted = proxy.requests_matching("POST", r"/ci/stages2/blobs/uploads/\?.*mount=")
    assert any(tools_layer.removeprefix("sha256:") in entry.path and entry.status == 201 for entry in mounted)
