"""What the cache does around its records: the first build, a new base image, and damage in the store.

Damage behind a cache record (its layer directory or blob gone, its blob cut short, the record itself
unreadable) must be a miss that rebuilds the step, never an error, and the rebuilt record must serve the
next build.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.cache.conftest import outcomes, write_context

BUILDFILE = """\
FROM busybox:latest
RUN echo hello
COPY a.txt /a.txt
RUN cat /a.txt > /b.txt
"""
STEPS = ["stage-0 RUN echo hello", "stage-0 COPY a.txt /a.txt", "stage-0 RUN cat /a.txt > /b.txt"]


def _build(pybuild, ctx: Path, *extra: str) -> list[tuple[str, str]]:
    result = pybuild("build", "--progress=plain", "-t", "cached:1", *extra, str(ctx))
    return outcomes(result.err)


def test_first_build_then_all_cached(pybuild, tmp_path: Path):
    ctx = write_context(tmp_path / "ctx", BUILDFILE, {"a.txt": "a\n"})
    assert _build(pybuild, ctx) == [(step, "first build") for step in STEPS]
    assert _build(pybuild, ctx) == [(step, "CACHED") for step in STEPS]


def test_a_context_elsewhere_with_the_same_content_hits(pybuild, tmp_path: Path):
    """Keys name content, not where the context lives."""
    write_context(tmp_path / "one", BUILDFILE, {"a.txt": "a\n"})
    _build(pybuild, tmp_path / "one")
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    assert _build(pybuild, tmp_path / "two") == [(step, "CACHED") for step in STEPS]


def test_new_base_image_misses_and_the_same_layers_hit(pybuild, busybox_dir: Path, tmp_path: Path):
    ctx = write_context(tmp_path / "ctx", BUILDFILE, {"a.txt": "a\n"})
    _build(pybuild, ctx)
    changed = tmp_path / "rootfs"
    shutil.copytree(busybox_dir, changed, symlinks=True)
    (changed / "etc" / "motd").write_text("a new base\n")
    pybuild("import", str(changed), "busybox:latest")
    # RUN echo writes nothing, yet the COPY on top of it has other layers below it now.
    assert _build(pybuild, ctx) == [
        (STEPS[0], "base image changed"),
        (STEPS[1], "parent step ran"),
        (STEPS[2], "parent step ran"),
    ]
    pybuild("import", str(busybox_dir), "busybox:latest")  # back to the first base's layers
    assert _build(pybuild, ctx) == [(step, "CACHED") for step in STEPS]


def _store_paths(pybuild, step_index: int) -> dict:
    """The cache key, layer directory and layer record of the built image's layer for ``STEPS[step_index]``
    (a build's layer has no blob file: its record says how the store makes its tar)."""
    from builder.oci.image import load_image
    from builder.store import Store

    with Store.open(pybuild.root) as store:
        image = load_image(store, "cached:1")
        diff_id = image.config["rootfs"]["diff_ids"][-len(STEPS) + step_index]
        assert image.manifest["layers"][-len(STEPS) + step_index]["digest"] == diff_id
        keys = [
            k
            for k in store.cache_keys()
            if ((store.cache_get(k) or {}).get("result") or {}).get("diff_id") == diff_id
        ]
        return {
            "key": keys[0],
            "record": pybuild.root / "cache" / keys[0][:2] / f"{keys[0]}.json",
            "layer": store.layer_path(diff_id),
            "layerinfo": pybuild.root / "layerinfo" / "sha256" / f"{diff_id[7:]}.json",
            "diff_id": diff_id,
        }


def _remove_layer(paths: dict) -> None:
    from builder.store.fsutil import remove_tree

    remove_tree(paths["layer"])


def _remove_layer_record(paths: dict) -> None:
    os.unlink(paths["layerinfo"])


def _truncate_layer_record(paths: dict) -> None:
    size = paths["layerinfo"].stat().st_size
    os.truncate(paths["layerinfo"], size // 2)


def _garble_record(paths: dict) -> None:
    paths["record"].write_text("{not json")


def _record_without_result(paths: dict) -> None:
    record = json.loads(paths["record"].read_text())
    record["result"] = {"diff_id": "sha256:nothex", "digest": 5}
    paths["record"].write_text(json.dumps(record))


DAMAGE = {
    "layer directory removed": (_remove_layer, "cached layer missing from the store"),
    "layer record removed": (_remove_layer_record, "cached layer missing from the store"),
    "layer record truncated": (_truncate_layer_record, "cached layer missing from the store"),
    "record unreadable": (_garble_record, "cache record missing from the store"),
    "record with a nonsense result": (_record_without_result, "cached layer missing from the store"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damage_behind_a_record_is_a_miss(damage: str, pybuild, tmp_path: Path):
    ctx = write_context(tmp_path / "ctx", BUILDFILE, {"a.txt": "from the context\n"})
    _build(pybuild, ctx)
    harm, reason = DAMAGE[damage]
    harm(_store_paths(pybuild, 1))
    after = _build(pybuild, ctx)
    assert after[:2] == [(STEPS[0], "CACHED"), (STEPS[1], reason)]
    # The rebuilt COPY may differ in its directory times from the lost one; if so the RUN on it runs again.
    assert after[2][1] in ("CACHED", "parent step ran")
    assert pybuild("run", "cached:1", "cat", "/b.txt").out == "from the context\n"
    assert _build(pybuild, ctx) == [(step, "CACHED") for step in STEPS]


def _records(root: Path) -> dict[str, dict]:
    return {p.name[:-5]: json.loads(p.read_text()) for p in root.glob("cache/*/*.json")}


def _age(root: Path, seconds: float) -> None:
    """Make the store's blobs, layers and records older than gc's grace period."""
    for path in [*root.glob("blobs/sha256/*"), *root.glob("layers/sha256/*"), *root.glob("cache/*/*.json")]:
        st = os.lstat(path)
        os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds), follow_symlinks=False)


def test_records_do_not_grow_with_the_context_and_still_explain_a_changed_file(pybuild, tmp_path: Path):
    """The record a COPY hits by keeps a digest of its file listing, not the listing: a large context must
    not make every record (and every gc scan of them) large. The step's note keeps the listing, so a miss
    still names the file that changed; gc still finds the layer through the record."""
    files = {f"src/f{n:04}.txt": f"{n}\n" for n in range(3000)}
    ctx = write_context(tmp_path / "ctx", "FROM busybox:latest\nCOPY src /src\n", files)
    assert _build(pybuild, ctx) == [("stage-0 COPY src /src", "first build")]
    records = _records(pybuild.root)
    (with_layer,) = [r for r in records.values() if "result" in r]
    assert len(json.dumps(with_layer)) < 2048
    assert "src/f0001.txt" not in json.dumps(with_layer)

    (ctx / "src/f1234.txt").write_text("changed\n")
    assert _build(pybuild, ctx) == [("stage-0 COPY src /src", "COPY: src/f1234.txt changed")]

    (ctx / "src/f1234.txt").write_text("1234\n")
    pybuild("rmi", "cached:1")
    _age(pybuild.root, 2 * 3600)
    pybuild("store", "gc")
    assert _build(pybuild, ctx) == [("stage-0 COPY src /src", "CACHED")]
