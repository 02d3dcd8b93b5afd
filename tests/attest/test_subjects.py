"""Statement subjects named as BuildKit v0.13 names them (tests/attest/recorded/)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from builder.attest.subjects import directory_subjects, image_subjects

RECORDED = Path(__file__).parent / "recorded"


def test_image_subject_is_the_pushed_names_purl_with_the_platform_manifest_digest():
    pushed = json.loads((RECORDED / "push-max-provenance.intoto.json").read_bytes())
    index = json.loads((RECORDED / "push-max-index.json").read_bytes())
    image = index["manifests"][0]
    platform = f"{image['platform']['os']}/{image['platform']['architecture']}"
    subjects = image_subjects(["127.0.0.1:5077/app:max", ""], platform, image["digest"])
    assert [{"name": s.name, "digest": {"sha256": s.sha256}} for s in subjects] == pushed["subject"]
    with pytest.raises(ValueError):
        image_subjects(["a"], "linux/amd64", "sha512:" + "0" * 128)


def test_a_local_exports_subjects_are_its_regular_files_depth_first(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/busybox").write_bytes(b"busybox")
    (tmp_path / "a").mkdir()
    (tmp_path / "a/b").write_text("x")
    (tmp_path / "a.txt").write_text("y")
    (tmp_path / "link").symlink_to("a.txt")
    os.mkfifo(tmp_path / "fifo")
    names = [s.name for s in directory_subjects(tmp_path)]
    assert names == ["a/b", "a.txt", "bin/busybox"]
    recorded = json.loads((RECORDED / "local-provenance-min.json").read_bytes())["subject"]
    assert [s["name"] for s in recorded] == sorted(s["name"] for s in recorded)  # BuildKit's order, same rule
