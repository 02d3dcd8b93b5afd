"""``pybuild prune``: what goes (unused cache, then what nothing reaches), what stays (tagged images), and the
rules of --all, --filter until, --keep-storage and --dry-run."""

from __future__ import annotations

import os
import time

import pytest

from builder.commands.prune import CacheEntry, choose, parse_duration, parse_size
from builder.errors import UsageError
from tests.hardening.conftest import age_store, store_snapshot, write_context

HOUR = 3600


def _build(cli, tmp_path, name: str, command: str):
    ctx = write_context(tmp_path / name, f"FROM busybox\nRUN {command}\n")
    cli("build", "-t", f"{name}:1", str(ctx))


def _records(cli) -> set[str]:
    return {p.name[:-5] for p in (cli.root / "cache").glob("*/*.json")}


def test_prune_removes_only_cache_no_tagged_image_uses(cli, tmp_path):
    _build(cli, tmp_path, "kept", "echo kept > /kept")
    _build(cli, tmp_path, "dropped", "head -c 300000 /dev/urandom > /big")
    cli("rmi", "dropped:1")
    age_store(cli.root, 2 * HOUR)
    before = store_snapshot(cli.root)

    dry = cli("prune", "--dry-run")
    assert "would remove cache" in dry.out and " RUN " in dry.out
    assert "would remove 1 cache records, 1 layers" in dry.out
    assert store_snapshot(cli.root) == before  # a dry run changes nothing

    done = cli("prune")
    assert "removed 1 cache records, 1 layers" in done.out
    after = store_snapshot(cli.root)
    assert len(after["layers"]) == len(before["layers"]) - 1
    assert len(after["blobs"]) < len(before["blobs"])
    assert cli("store", "verify").returncode == 0
    assert cli("run", "kept:1", "cat", "/kept").out == "kept\n"
    # The kept image's step is still cached; the dropped one runs again.
    rebuilt = cli("build", "--progress", "plain", str(tmp_path / "kept"))
    assert "CACHED" in rebuilt.err + rebuilt.out


def test_prune_all_drops_every_record_but_never_a_tagged_image(cli, tmp_path):
    _build(cli, tmp_path, "app", "echo app > /app")
    age_store(cli.root, 2 * HOUR)
    layers = store_snapshot(cli.root)["layers"]
    cli("prune", "--all")
    assert _records(cli) == set()
    assert store_snapshot(cli.root)["layers"] == layers  # all of them belong to app:1 or busybox
    assert cli("run", "app:1", "cat", "/app").out == "app\n"
    assert cli("store", "verify").returncode == 0
    out = cli("build", "--progress", "plain", str(tmp_path / "app"))
    assert "CACHED" not in out.err + out.out


def test_filter_until_spares_younger_records(cli, tmp_path):
    _build(cli, tmp_path, "old", "echo old > /old")
    cli("rmi", "old:1")
    age_store(cli.root, 3 * HOUR)
    old_records = _records(cli)
    _build(cli, tmp_path, "new", "echo new > /new")
    cli("rmi", "new:1")
    new_records = _records(cli) - old_records
    listing = cli("prune", "--all", "--filter", "until=2h", "--dry-run").out
    assert all(key[:12] not in listing for key in new_records)
    cli("prune", "--all", "--filter", "until=2h")
    assert _records(cli) == new_records
    assert cli("store", "verify").returncode == 0


def test_keep_storage_removes_oldest_first_down_to_the_limit(cli, tmp_path):
    for number, age in ((1, 5 * HOUR), (2, 4 * HOUR), (3, 3 * HOUR)):
        _build(cli, tmp_path, f"s{number}", f"head -c {number * 200000} /dev/urandom > /f")
        cli("rmi", f"s{number}:1")
        age_store(cli.root, age - (0 if number == 3 else HOUR))
    # Each layer is its blob plus its unpacked tree: s3 alone (~1.2 MB) fits in 1.5 MB, s2 with it does not.
    out = cli("prune", "--keep-storage", "1.5MB", "--dry-run").out
    assert out.count("would remove cache") == 2
    cli("prune", "--keep-storage", "1.5MB")
    assert cli("build", "--progress", "plain", str(tmp_path / "s3")).err.count("CACHED") == 1
    assert cli("build", "--progress", "plain", str(tmp_path / "s1")).err.count("CACHED") == 0


def test_prune_spares_content_younger_than_the_grace_period(cli, tmp_path):
    _build(cli, tmp_path, "fresh", "echo fresh > /fresh")
    cli("rmi", "fresh:1")
    out = cli("prune", "--all").out
    assert "0 layers and 0 blobs" in out  # a pull could still be about to tag them


def test_bad_options_are_usage_errors(cli):
    for args in (["--filter", "until=soon"], ["--filter", "label=x"], ["--keep-storage", "lots"]):
        result = cli("prune", *args, check=False)
        assert result.returncode == 2 and "Traceback" not in result.err, result.err


@pytest.mark.parametrize(
    ("text", "seconds"), [("24h", 86400), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("500ms", 0.5)]
)
def test_go_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_sizes_are_binary_multiples():
    assert parse_size("1024") == 1024
    assert parse_size("512MB") == 512 << 20
    assert parse_size("5g") == 5 << 30
    assert parse_size("1.5KiB") == 1536
    with pytest.raises(UsageError):
        parse_size("-1")


def test_choose_counts_a_shared_layer_once():
    entries = [
        CacheEntry("a" * 64, 30, "RUN", "sha256:x", 100),
        CacheEntry("b" * 64, 20, "RUN", "sha256:x", 100),  # same layer, another record
        CacheEntry("c" * 64, 10, "RUN", "sha256:y", 100),
        CacheEntry("d" * 64, 5, "RUN", "sha256:z", 0, dangling=True),
    ]
    chosen = choose(entries, set(), everything=False, until=None, keep_storage=100)
    # Removing "a" frees nothing while "b" still holds x; after "b" the cache is at 100 bytes.
    assert [e.key[0] for e in chosen] == ["d", "a", "b"]


def test_a_record_whose_layer_is_gone_is_removed_whatever_its_age(cli, tmp_path):
    _build(cli, tmp_path, "x", "echo x > /x")
    cli("rmi", "x:1")
    age_store(cli.root, 2 * HOUR)
    victim = next(p for p in (cli.root / "cache").glob("*/*.json") if b'"result"' in p.read_bytes())
    victim.write_text('{"result": {"diff_id": "sha256:' + "0" * 64 + '", "digest": "nonsense"}}')
    os.utime(victim, (time.time(), time.time()))
    out = cli("prune", "--filter", "until=1h").out
    assert "dangling" in out and not victim.exists()
    assert cli("store", "verify").returncode == 0


def test_gc_keeps_what_a_young_manifest_names_and_deletes_referrers_first(tmp_path):
    """An untagged manifest written a moment ago keeps its (old) config and layer; once it is old too, it is
    deleted before them, so a gc killed half-way never leaves a manifest whose blobs are gone."""
    import json

    from builder.store import Store

    with Store.open(tmp_path / "s") as store:
        layer = store.put_blob(b"layer")
        config = store.put_blob(b'{"rootfs": {"diff_ids": []}}')
        doc = {"schemaVersion": 2, "config": {"digest": config, "size": 28}, "layers": [{"digest": layer}]}
        manifest = store.put_blob(json.dumps(doc).encode())
        old = time.time() - 2 * HOUR
        for digest in (layer, config):
            os.utime(store.blob_path(digest), (old, old))
        assert store.gc(grace_seconds=HOUR).blobs == []
        assert store.verify() == []
        os.utime(store.blob_path(manifest), (old, old))
        assert store.gc(grace_seconds=HOUR, dry_run=True).blobs[0] == manifest
        assert set(store.gc(grace_seconds=HOUR).blobs) == {manifest, config, layer}
