"""After an unclean restart (a power loss, a kernel crash) the store serves nothing the crash damaged.

Blobs and layers are not flushed when they are written; they are named in a journal of the boot that wrote
them (``journal/<boot id>``). The restart is simulated: the current boot's journal is renamed to another
boot id, and a file that the lost page cache would have left short is truncated. The next command that
opens the store must drop the damaged entry and what names it, so the step runs again (and a pulled layer
is fetched again, see tests/registry/test_unclean_restart.py), and the store verifies sound.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.hardening.conftest import Cli, write_context

BUILDFILE = """\
FROM busybox
RUN mkdir /d && head -c 100000 /dev/zero | tr '\\0' x > /d/big && echo kept > /d/small
"""
OTHER_BOOT = "0123456789abcdef0123456789abcdef"


def current_journal(root: Path) -> Path:
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")
    return root / "journal" / boot


def journaled(root: Path) -> list[dict]:
    return [json.loads(line) for line in current_journal(root).read_text().splitlines()]


def restart_uncleanly(root: Path) -> None:
    """What the store looks like after the machine went down: its journal belongs to an ended boot."""
    os.rename(current_journal(root), root / "journal" / OTHER_BOOT)


def build(cli: Cli, context: Path, dest: Path, env: dict | None = None):
    args = ("build", "--progress", "plain", "-t", "app:1", "-o", f"type=local,dest={dest}", str(context))
    return cli(*args, env=env)


def step_layer(cli: Cli) -> str:
    """The diff_id of app:1's top layer (the RUN step's)."""
    return json.loads(cli("inspect", "app:1").out)[0]["RootFS"]["diff_ids"][-1]


def test_a_damaged_layer_of_a_step_is_dropped_and_the_step_runs_again(cli, tmp_path):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    build(cli, context, tmp_path / "out1")
    diff_id = step_layer(cli)
    entry = {"layer": diff_id, "clamp": None, "derived": True}
    assert entry in journaled(cli.root)
    again = build(cli, context, tmp_path / "out2")
    assert "0 steps ran, 1 cached" in again.err + again.out

    restart_uncleanly(cli.root)
    big = cli.root / "layers" / "sha256" / diff_id.removeprefix("sha256:") / "d" / "big"
    os.truncate(big, 10)  # the page cache held the rest

    rebuilt = build(cli, context, tmp_path / "out3")
    assert "1 steps ran, 0 cached" in rebuilt.err + rebuilt.out
    assert (tmp_path / "out3" / "d" / "big").stat().st_size == 100000
    assert (tmp_path / "out3" / "d" / "small").read_text() == "kept\n"
    # the damaged layer is gone: its directory either went, or (a rebuild within the same second writes the
    # same mtimes, so the same layer) holds the sound rebuilt files
    assert not big.exists() or big.stat().st_size == 100000
    new_big = cli.root / "layers" / "sha256" / step_layer(cli).removeprefix("sha256:") / "d" / "big"
    assert new_big.stat().st_size == 100000
    assert not (cli.root / "journal" / OTHER_BOOT).exists()
    assert "sound" in cli("store", "verify").out


SOUND = """\
FROM busybox
COPY a.txt /a.txt
COPY --chmod=700 tree /tree
WORKDIR /w
RUN ln /a.txt /w/link && mkdir /d && echo kept > /d/small && rm /bin/true
"""


def test_a_sound_journal_of_another_boot_drops_nothing(cli, tmp_path):
    files = {"a.txt": "a\n", "tree/x/y": "y\n", "tree/z": "z\n"}
    context = write_context(tmp_path / "ctx", SOUND, files)
    clamp = {"SOURCE_DATE_EPOCH": "1700000000"}  # the layer is checked with the mtime clamp it was made with
    build(cli, context, tmp_path / "out1", clamp)
    assert any(entry.get("clamp") == 1700000000 for entry in journaled(cli.root))
    restart_uncleanly(cli.root)
    again = build(cli, context, tmp_path / "out2", clamp)
    assert "0 steps ran, 4 cached" in again.err + again.out
    assert not (cli.root / "journal" / OTHER_BOOT).exists()
    assert cli("run", "app:1", "cat", "/d/small").out == "kept\n"


def test_a_truncated_blob_of_a_loaded_base_is_dropped_with_its_image(cli, tmp_path):
    """busybox (imported: blob and unpacked layer) damaged in its blob: the image is no longer served."""
    blob = json.loads(cli("inspect", "busybox").out)[0]["Manifest"]["layers"][0]["digest"]
    restart_uncleanly(cli.root)
    # The template store's journal named busybox's blob and layer; the blob lost its tail.
    path = cli.root / "blobs" / "sha256" / blob.removeprefix("sha256:")
    os.chmod(path, 0o644)
    os.truncate(path, path.stat().st_size // 2)
    images = cli("images").out
    assert "busybox" not in images
    assert not path.exists()
    assert "sound" in cli("store", "verify").out


def test_a_damaged_layer_unpacked_from_a_sound_blob_is_unpacked_again(cli, tmp_path):
    """busybox's unpacked layer lost a file's content, its blob is sound: the layer is unpacked again from the
    blob and the image stays."""
    diff_id = json.loads(cli("inspect", "busybox").out)[0]["RootFS"]["diff_ids"][0]
    restart_uncleanly(cli.root)
    layer = cli.root / "layers" / "sha256" / diff_id.removeprefix("sha256:")
    victim = max(
        (p for p in layer.rglob("*") if p.is_file() and not p.is_symlink()), key=lambda p: p.stat().st_size
    )
    size = victim.stat().st_size
    os.truncate(victim, 0)
    assert "busybox" in cli("images").out
    assert victim.stat().st_size == size
    assert cli("run", "busybox", "echo", "ok").out == "ok\n"
    assert "sound" in cli("store", "verify").out


def test_store_sync_is_a_durability_point(cli, tmp_path):
    """After ``store sync`` (and ``store gc``) nothing written so far is left to check after a restart."""
    context = write_context(tmp_path / "ctx", BUILDFILE)
    build(cli, context, tmp_path / "out1")
    assert current_journal(cli.root).exists()
    assert "on disk" in cli("store", "sync").out
    assert os.listdir(cli.root / "journal") == []
    write_context(tmp_path / "ctx", BUILDFILE + "RUN echo more > /more\n")
    build(cli, context, tmp_path / "out2")
    assert {"layer": step_layer(cli), "clamp": None, "derived": True} in journaled(cli.root)
    cli("store", "gc")
    assert os.listdir(cli.root / "journal") == []
