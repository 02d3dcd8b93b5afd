"""The ID a build prints names the image everywhere: ``sha256:…``, bare hex, or a unique prefix.

``build -q`` and ``--iidfile`` print an image ID (the config digest); ``run``, ``tag``, ``inspect``,
``history``, ``save``, ``push`` and ``rmi`` accept it whole, without ``sha256:``, or as any unique prefix of
12 digits and more, as docker does, for untagged images too. A prefix several images share is an error that
says so.
"""

from __future__ import annotations

import hashlib
import json
import tarfile

import pytest

from builder.oci.config import encode
from builder.oci.image import commit_image
from builder.store import Store
from tests.journey.conftest import User, write_files
from tests.registry.servers import Registry

pytestmark = [pytest.mark.root, pytest.mark.slow]

BUILDFILE = 'FROM busybox\nRUN echo "built by id" > /id.txt\nCMD ["cat", "/id.txt"]\n'


@pytest.fixture
def built(user) -> str:
    """The ID ``build -q`` printed for an untagged image built from the user's ``app`` directory."""
    write_files(user.home / "app", {"Buildfile": BUILDFILE})
    image_id = user.cd("app")("build", "-q", ".").out.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    return image_id


def forms(image_id: str) -> list[str]:
    """The spellings a user may give: full, bare hex, 12 digits, 20 digits."""
    bare = image_id.removeprefix("sha256:")
    return [image_id, bare, bare[:12], f"sha256:{bare[:20]}"]


def test_run_accepts_the_printed_id_in_every_form(user, built):
    assert user.shell("pybuild run --rm $(pybuild build -q .)").out == "built by id\n"
    for name in forms(built):
        assert user("run", "--rm", name).out == "built by id\n", name


def test_inspect_and_history_accept_it(user, built):
    for name in forms(built):
        assert json.loads(user("inspect", name).out)[0]["Id"] == built, name
        assert 'echo "built by id" > /id.txt' in user("history", "--no-trunc", name).out, name


def test_tag_accepts_it(user, built):
    user("tag", forms(built)[2], "named:1")
    assert json.loads(user("inspect", "named:1").out)[0]["Id"] == built
    assert user("run", "--rm", "named:1").out == "built by id\n"


def test_save_accepts_it(user, built):
    user("save", forms(built)[2], "-o", "image.tar")
    with tarfile.open(user.cwd / "image.tar") as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))
        config = json.load(tar.extractfile(entry["Config"]))
    assert hashlib.sha256(encode(config)).hexdigest() == built.removeprefix("sha256:")
    assert config["config"]["Cmd"] == ["cat", "/id.txt"]


def test_push_accepts_it(user, built, tmp_path, installed):
    registry = Registry(tmp_path / "registry")
    try:
        nowhere = user("push", forms(built)[2], check=False)  # an ID alone names no repository
        assert nowhere.code == 2 and "is an image ID, which names no repository" in nowhere.err
        destination = f"{registry.domain}/app:1"
        user("push", "-q", forms(built)[1][:16], destination)
        other = User(installed, tmp_path / "other")
        other("pull", destination)
        assert other("run", "--rm", destination).out == "built by id\n"
    finally:
        registry.stop()


def test_rmi_accepts_it_and_the_image_is_then_gone(user, built):
    assert user("rmi", forms(built)[2]).out == f"Deleted: {built}\n"
    for name in forms(built):
        gone = user("inspect", name, check=False)
        assert gone.code == 1 and "image not found" in gone.err, name


def _configs_sharing_a_prefix(digits: int) -> tuple[dict, dict, str]:
    """Two image configs whose digests share their first ``digits`` hex digits (found by trying labels)."""
    seen: dict[str, dict] = {}
    for number in range(1_000_000):
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"n": str(number)}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
        prefix = hashlib.sha256(encode(config)).hexdigest()[:digits]
        if prefix in seen:
            return seen[prefix], config, prefix
        seen[prefix] = config
    raise AssertionError("no two configs share a prefix")


def test_an_ambiguous_prefix_is_a_clear_error(user, tmp_path):
    first, second, prefix = _configs_sharing_a_prefix(5)
    with Store.open(user.store) as store:  # two untagged images, as two builds would leave them
        ids = [commit_image(store, config, []).id for config in (first, second)]
    for command in (
        ["run", "--rm", prefix],
        ["inspect", prefix],
        ["history", prefix],
        ["tag", prefix, "x:1"],
        ["save", prefix, "-o", str(tmp_path / "x.tar")],
        ["push", prefix, "127.0.0.1:1/x:1"],
        ["rmi", prefix],
    ):
        result = user(*command, check=False)
        assert result.code == 1, command
        assert f"image ID prefix {prefix} is ambiguous: it matches 2 images" in result.err, (
            command,
            result.err,
        )
        assert "Traceback" not in result.err
    for image_id in ids:  # each is still found by a longer prefix
        assert json.loads(user("inspect", image_id[:19]).out)[0]["Id"] == image_id


def test_a_multi_platform_build_is_named_by_its_index_digest(user):
    write_files(user.home / "multi", {"Buildfile": "FROM scratch\nCOPY f /f\n", "f": "both\n"})
    index_id = user.cd("multi")("build", "-q", "--platform", "linux/amd64,linux/arm64", ".").out.strip()
    prefix = index_id.removeprefix("sha256:")[:12]
    assert json.loads(user("inspect", prefix).out)[0]["Index"]["Digest"] == index_id
    user("tag", prefix, "multi:1")
    assert json.loads(user("inspect", "multi:1").out)[0]["Index"]["Platforms"] == ["linux/amd64", "linux/arm64"]
    user("save", prefix, "--format", "oci", "-o", "multi.tar")
    with tarfile.open(user.cwd / "multi.tar") as tar:
        assert "index.json" in tar.getnames()
