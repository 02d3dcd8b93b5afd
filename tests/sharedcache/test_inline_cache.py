"""``--cache-to type=inline``: the cache records travel in the pushed image's config, and a runner with an
empty store (``other_cli``) builds with ``--cache-from IMAGE`` alone. Blob transfers are counted at a
`FaultProxy` in front of the registry."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import requests

from tests.build.conftest import write_context
from tests.sharedcache.conftest import BUILDFILE, LAYER_STEPS, MARKERS

INLINE_KEY = "io.pybuild.cache.v1"
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
REFERENCE = Path(__file__).parent / "reference/buildkit-inline-cache.json"


def _digest(cli, ref: str) -> str:
    return json.loads(cli("inspect", ref).out)[0]["Digest"]


def _pushed(registry, path: str, tag: str) -> tuple[dict, dict]:
    """(manifest, config) of an image as the registry serves them (pushed with ``--provenance=false``: a
    push's default provenance makes it an index, see the last test)."""
    base = f"http://{registry.domain}/v2/{path}"
    accept = "application/vnd.oci.image.manifest.v1+json"
    manifest = requests.get(f"{base}/manifests/{tag}", headers={"Accept": accept}, timeout=10).json()
    config = requests.get(f"{base}/blobs/{manifest['config']['digest']}", timeout=10).json()
    return manifest, config


def _cached_lines(err: str) -> int:
    return len(re.findall(r"^#\d+ CACHED$", err, re.MULTILINE))


def test_a_fresh_store_builds_every_step_cached_from_the_pushed_image_alone(
    cli, other_cli, proxy, registry, context
):
    cli.env.update(EPOCH)
    other_cli.env.update(EPOCH)
    image = f"{proxy.domain}/ci/app:1"
    cli("build", "-t", image, "--push", "--provenance=false", "--cache-to", "type=inline", str(context))
    pushed = _digest(cli, image)
    manifest, config = _pushed(registry, "ci/app", "1")
    # BuildKit's shape (recorded in REFERENCE): one more top-level config key, a string holding base64 JSON
    # whose records name the image's layers by position
    reference = json.loads(Path(REFERENCE).read_text())
    assert set(config) - {INLINE_KEY} == set(reference["config_keys"]) - {"moby.buildkit.cache.v0"}
    assert isinstance(config[INLINE_KEY], str)
    records = json.loads(base64.b64decode(config[INLINE_KEY]))["records"]
    assert sorted(r["layer"] for r in records.values()) == list(range(1, 1 + LAYER_STEPS))
    proxy.log.clear()

    built = other_cli(
        "build",
        "--progress=plain",
        "-t",
        image,
        "--cache-from",
        image,
        "--cache-to",
        "type=inline",
        str(context),
    )

    assert _cached_lines(built.err) == LAYER_STEPS and f"0 steps ran, {LAYER_STEPS} cached" in built.err
    assert not any(marker in built.err for marker in MARKERS)
    assert _digest(other_cli, image) == pushed  # the same image, inline cache included
    # only the image's manifest, its config and the step layers the final image holds came through the proxy
    gets = {entry.path.rsplit("/", 1)[1] for entry in proxy.requests_matching("GET", r"/blobs/sha256:")}
    assert gets == {manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"][1:])}
    run = other_cli("run", image, "cat", "/copy", "/app/two", "/app/three")
    assert run.out == "from the context\nhi two\nthree\n"


def test_the_inline_cache_changes_the_digest_but_the_same_inputs_give_the_same_one(cli, other_cli, context):
    cli.env.update(EPOCH)
    other_cli.env.update(EPOCH)
    cli("build", "-t", "plain:1", str(context))
    cli("build", "-t", "inline:1", "--cache-to", "type=inline", str(context))
    other_cli("build", "-t", "inline:1", "--cache-to", "type=inline", str(context))  # ran, not cached
    assert _digest(cli, "plain:1") != _digest(cli, "inline:1")
    assert _digest(cli, "inline:1") == _digest(other_cli, "inline:1")


def test_a_changed_step_misses_and_the_steps_after_it_run(cli, other_cli, proxy, context, base, tmp_path):
    image = f"{proxy.domain}/ci/app:1"
    cli("build", "-t", image, "--push", "--cache-to", "type=inline", str(context))

    changed = BUILDFILE.format(base=base).replace('"$GREETING two"', '"$GREETING changed"')
    other = write_context(tmp_path / "changed", changed, {"a.txt": "from the context\n"})
    built = other_cli(
        "build", "--progress=plain", "-t", "app:2", "--cache-from", f"type=registry,ref={image}", str(other)
    )

    assert "MARKER-ONE" not in built.err
    assert "MARKER-TWO" in built.err and "MARKER-THREE" in built.err
    assert f"2 steps ran, {LAYER_STEPS - 2} cached" in built.err
    assert other_cli("run", "app:2", "cat", "/copy", "/app/two", "/app/three").out == (
        "from the context\nhi changed\nthree\n"
    )


def test_an_image_without_an_inline_cache_is_a_warning(cli, other_cli, registry, context):
    image = f"{registry.domain}/ci/plain:1"
    cli("build", "-t", image, "--push", str(context))
    built = other_cli("build", "--progress=plain", "--cache-from", image, str(context))
    assert "warning: cache from" in built.err and "is an image without a pybuild cache" in built.err
    assert f"{LAYER_STEPS} steps ran, 0 cached" in built.err


def test_each_platform_image_of_a_pushed_index_carries_its_records(cli, other_cli, proxy, registry, tmp_path):
    buildfile = "FROM scratch\nCOPY a.txt /a.txt\nARG TARGETARCH\nCOPY b-${TARGETARCH}.txt /b.txt\n"
    context = write_context(
        tmp_path / "multi", buildfile, {"a.txt": "a\n", "b-amd64.txt": "x\n", "b-arm64.txt": "y\n"}
    )
    image = f"{proxy.domain}/ci/multi:1"
    platforms = "linux/amd64,linux/arm64"
    cli(
        "build",
        "--platform",
        platforms,
        "-t",
        image,
        "--push",
        "--provenance=false",
        "--cache-to",
        "type=inline",
        str(context),
    )
    index = requests.get(
        f"http://{registry.domain}/v2/ci/multi/manifests/1",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        timeout=10,
    ).json()
    for entry in index["manifests"]:
        manifest, config = _pushed(registry, "ci/multi", entry["digest"])
        records = json.loads(base64.b64decode(config[INLINE_KEY]))["records"]
        assert sorted(r["layer"] for r in records.values()) == [0, 1]

    built = other_cli(
        "build", "--progress=plain", "--platform", platforms, "-t", "m:1", "--cache-from", image, str(context)
    )
    assert "0 steps ran, 4 cached" in built.err


def test_the_buildkit_inline_cache_build_arg_asks_for_an_inline_cache(cli, other_cli, registry, context):
    image = f"{registry.domain}/ci/app:1"
    cli(
        "build",
        "-t",
        image,
        "--push",
        "--provenance=false",
        "--build-arg",
        "BUILDKIT_INLINE_CACHE=1",
        str(context),
    )
    _manifest, config = _pushed(registry, "ci/app", "1")
    assert INLINE_KEY in config
    built = other_cli("build", "--progress=plain", "--cache-from", image, str(context))
    assert f"0 steps ran, {LAYER_STEPS} cached" in built.err

    # a value Go's ParseBool reads as false asks for nothing, as in buildx
    cli(
        "build",
        "-t",
        image,
        "--push",
        "--provenance=false",
        "--build-arg",
        "BUILDKIT_INLINE_CACHE=0",
        str(context),
    )
    assert INLINE_KEY not in _pushed(registry, "ci/app", "1")[1]


def test_an_image_built_on_one_with_an_inline_cache_does_not_inherit_it(cli, registry, context, tmp_path):
    base = f"{registry.domain}/ci/app:1"
    cli("build", "-t", base, "--push", "--provenance=false", "--cache-to", "type=inline", str(context))
    derived = write_context(tmp_path / "derived", f"FROM {base}\nRUN echo more > /more\n")
    cli("build", "-t", f"{registry.domain}/ci/derived:1", "--push", "--provenance=false", str(derived))
    assert INLINE_KEY not in _pushed(registry, "ci/derived", "1")[1]
    cli(
        "build",
        "-t",
        f"{registry.domain}/ci/derived:2",
        "--push",
        "--provenance=false",
        "--cache-to",
        "type=inline",
        str(derived),
    )
    records = json.loads(base64.b64decode(_pushed(registry, "ci/derived", "2")[1][INLINE_KEY]))["records"]
    assert [r["layer"] for r in records.values()] == [1 + LAYER_STEPS]  # its own step only


def test_a_push_with_its_default_provenance_still_carries_a_usable_inline_cache(
    cli, other_cli, registry, context
):
    image = f"{registry.domain}/ci/attested:1"
    cli(
        "build", "-t", image, "--push", "--cache-to", "type=inline", str(context)
    )  # an index: image + provenance
    built = other_cli("build", "--progress=plain", "-t", "again:1", "--cache-from", image, str(context))
    assert f"0 steps ran, {LAYER_STEPS} cached" in built.err
