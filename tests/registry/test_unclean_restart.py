"""A pulled layer damaged by an unclean restart (see tests/hardening/test_unclean_restart.py) is not served:
the image is dropped, and the next pull fetches the damaged blob again (and only it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

OTHER_BOOT = "0123456789abcdef0123456789abcdef"


def restart_uncleanly(root: Path) -> None:
    """What the store looks like after the machine went down: its journal belongs to an ended boot."""
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")
    os.rename(root / "journal" / boot, root / "journal" / OTHER_BOOT)


def test_a_truncated_pulled_blob_is_fetched_again(cli, other_cli, layered, registry):
    ref = f"{registry.domain}/team/app:1"
    cli("push", layered, ref)
    other_cli("pull", ref)
    layers = json.loads(other_cli("inspect", ref).out)[0]["Manifest"]["layers"]
    damaged = layers[-1]["digest"]
    restart_uncleanly(other_cli.root)
    path = other_cli.root / "blobs" / "sha256" / damaged.removeprefix("sha256:")
    os.chmod(path, 0o644)
    os.truncate(path, path.stat().st_size - 1)

    assert "team/app" not in other_cli("images").out  # dropped, not served
    pulled = other_cli("pull", ref)
    assert "Downloaded newer image" in pulled.out
    assert f"{damaged.removeprefix('sha256:')[:12]}: pull complete" in pulled.err
    assert all(f"{d['digest'].removeprefix('sha256:')[:12]}: already exists" in pulled.err for d in layers[:-1])
    assert other_cli("run", ref, "cat", "/built.txt").out == "built\n"
    assert "sound" in other_cli("store", "verify").out
