"""`pybuild store verify` reports a sound store and names a damaged blob; `gc` keeps what tags use."""

from __future__ import annotations

from pathlib import Path

from tests.build.conftest import write_context


def test_verify_after_a_build_then_after_damage(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo x > /x\n")
    pybuild("-t", "v:1", str(context))
    result = pybuild("store", "verify")
    assert result.returncode == 0 and "sound" in result.out

    blobs = sorted((pybuild.root / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    damaged = blobs[-1]
    damaged.chmod(0o644)
    with open(damaged, "r+b") as handle:
        handle.seek(10)
        handle.write(b"\0damage\0")
    result = pybuild("store", "verify", check=False)
    assert result.returncode == 1
    assert damaged.name in result.out


def test_gc_keeps_tagged_images(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo kept > /k\n")
    pybuild("-t", "keep:1", str(context))
    assert "would remove 0 blobs" in pybuild("store", "gc", "--dry-run").out
    pybuild("store", "gc")
    assert pybuild("run", "keep:1", "cat", "/k").out == "kept\n"
