"""Builds whose COPY takes the direct path (`builder.fsops.copystream`): a directory copied where the
image has nothing, its layer written while the files are placed.

What a user relies on: the layer's recorded diff_id and tar are what its unpacked directory archives to, and
the compressed blob an export sends is what that directory compresses to (so a pull, a push or a cache
import elsewhere gets the same bytes), later steps see the files, rebuilds with ``SOURCE_DATE_EPOCH`` give
the same image, and the files are read once, not archived again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import builder
from builder.layer import write_layer
from builder.store import Store
from tests.build.conftest import write_context
from tests.hardening.conftest import age_store

BUILDFILE = """\
FROM busybox
COPY . /app
RUN cat /app/src/main.txt /app/data/blob.bin | wc -c > /count
"""


def _context(tmp_path: Path, buildfile: str = BUILDFILE) -> Path:
    files = {f"src/file{i:03d}.txt": f"file {i}\n" * (i + 1) for i in range(60)}
    files["src/main.txt"] = "main\n"
    context = write_context(tmp_path / "ctx", buildfile, files)
    (context / "data").mkdir()
    (context / "data" / "blob.bin").write_bytes(os.urandom(3_000_000))
    os.symlink("../src/main.txt", context / "data" / "main-link")
    os.link(context / "src" / "main.txt", context / "data" / "main-hard")
    (context / ".dockerignore").write_text("src/file00*\n")
    return context


TAR = "application/vnd.oci.image.layer.v1.tar"


def _layers(pybuild, tag: str) -> list[tuple[str, dict]]:
    """Each layer of ``tag`` (its diff_id) with the store's record of it (``layerinfo``: the ``"tar"`` it is
    made again with, when the build made it, and the compressed ``"blobs"`` known for it)."""
    config = json.loads(pybuild("inspect", tag).out)[0]
    diff_ids = config["RootFS"]["diff_ids"]
    info = pybuild.root / "layerinfo" / "sha256"
    return [(d, json.loads((info / f"{d.split(':')[1]}.json").read_text())) for d in diff_ids]


def _stored_manifest(pybuild, tag: str) -> dict:
    digest = json.loads(pybuild("inspect", tag).out)[0]["Digest"]
    return json.loads((pybuild.root / "blobs" / "sha256" / digest.split(":")[1]).read_bytes())


def _oci_layers(archive: Path) -> tuple[list[dict], dict[str, bytes]]:
    """The layer descriptors of the one image in the OCI archive ``archive``, and its blobs by digest."""
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))
        manifest = json.load(tar.extractfile(f"blobs/sha256/{index['manifests'][0]['digest'].split(':')[1]}"))
        blobs = {
            d["digest"]: tar.extractfile(f"blobs/sha256/{d['digest'].split(':')[1]}").read()
            for d in manifest["layers"]
        }
    return manifest["layers"], blobs


def test_layers_match_what_their_directories_archive_to(tmp_path, pybuild):
    """The store keeps the build's layers unpacked with their tar's size; with the default compression the
    image it holds names each by its diff_id (with ``--compression zstd``, by the zstd blob the build made at
    its end). An OCI export compresses each layer with the build's ``--compression``: the blob it sends is
    exactly what the unpacked directory compresses to, and the store records it as a form of the layer."""
    context = _context(tmp_path)
    for compression in ("gzip", "zstd"):
        archive = tmp_path / f"{compression}.tar"
        pybuild(
            "build",
            "--no-cache",
            "--compression",
            compression,
            "-t",
            f"app:{compression}",
            "-o",
            f"type=oci,dest={archive}",
            str(context),
        )
        made = _layers(pybuild, f"app:{compression}")[1:]
        stored = _stored_manifest(pybuild, f"app:{compression}")["layers"][1:]
        sent, blobs = _oci_layers(archive)
        assert len(made) == len(stored) == len(sent[1:]) == 2
        for (diff_id, record), in_store, out in zip(made, stored, sent[1:], strict=True):
            directory = pybuild.root / "layers" / "sha256" / diff_id.split(":")[1]
            tar = write_layer(directory, io.BytesIO(), compression="none")
            assert (tar.diff_id, tar.size) == (diff_id, record["tar"]["size"])
            packed = io.BytesIO()
            info = write_layer(directory, packed, compression=compression)
            if compression == "gzip":  # the default: kept unpacked, compressed when the image leaves the store
                assert (in_store["mediaType"], in_store["digest"], in_store["size"]) == (TAR, diff_id, tar.size)
            else:  # an explicit other compression stays with the stored image
                assert (in_store["mediaType"], in_store["digest"]) == (f"{TAR}+{compression}", info.digest)
            assert (info.diff_id, info.digest, info.size) == (diff_id, out["digest"], out["size"])
            assert out["mediaType"] == f"{TAR}+{compression}"
            assert blobs[out["digest"]] == packed.getvalue()
            # the export kept the blob it made, as a form of the layer, for the next one to send
            assert {"digest": info.digest, "size": info.size, "mediaType": out["mediaType"]} in record["blobs"]
            kept = pybuild.root / "blobs" / "sha256" / info.digest.split(":")[1]
            assert kept.read_bytes() == packed.getvalue()
    ran = pybuild(
        "run", "--rm", "app:gzip", "sh", "-c", "cat /count; ls /app/src | wc -l; cat /app/data/main-link"
    )
    assert ran.out.split() == ["3000005", "51", "main"]  # 50 + main.txt: file000-009 ignored


def test_rebuilds_with_source_date_epoch_are_the_same_image(tmp_path, pybuild):
    context = _context(tmp_path)
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    digests = set()
    for n in range(2):
        pybuild(
            "build",
            "--no-cache",
            "-t",
            f"app:{n}",
            "--iidfile",
            str(tmp_path / f"id{n}"),
            str(context),
            env=env,
        )
        digests.add((tmp_path / f"id{n}").read_text())
    assert len(digests) == 1


def test_copy_into_the_workdir_sees_the_workdir_owner_and_mode(tmp_path, pybuild):
    buildfile = "FROM busybox\nWORKDIR /srv/app\nRUN chmod 750 /srv/app && chown 12:34 /srv/app\nCOPY . .\n"
    context = _context(tmp_path, buildfile)
    pybuild("build", "-t", "wd:1", str(context))
    ran = pybuild("run", "--rm", "wd:1", "sh", "-c", "stat -c '%a %u:%g' /srv/app; cat /srv/app/src/main.txt")
    assert ran.out.split() == ["750", "12:34", "main"]


def test_the_copied_files_are_archived_while_copied_not_afterwards(tmp_path, pybuild, monkeypatch):
    """Only the RUN step's upperdir is archived after the fact (hashed at its commit); the COPY hashed its
    layer as it copied. Nothing else archives a layer: a build kept in the store makes no layer tar."""
    archived: list[bool] = []  # for each directory archived: is it the RUN's (holding /count)?

    def recording(real):
        def archive(root, *args, **kwargs):
            archived.append((Path(root) / "count").is_file())
            return real(root, *args, **kwargs)

        return archive

    for name in ("write_layer", "hash_layer"):
        monkeypatch.setattr(builder.layer, name, recording(getattr(builder.layer, name)))
    result = builder.build(_context(tmp_path), root=pybuild.root, no_cache=True, tags=["app:1"])
    assert [step.text.split()[0] for step in result.steps if not step.cached] == ["COPY", "RUN"]
    assert archived == [True]


def test_a_rebuild_after_one_file_changed_links_the_others_and_removing_the_old_layer_keeps_them(
    tmp_path, pybuild
):
    context = _context(tmp_path)
    pybuild("build", "-t", "app:1", str(context))
    (context / "src" / "main.txt").write_text("changed\n")
    pybuild("build", "-t", "app:2", str(context))
    old, new = (_layers(pybuild, f"app:{n}")[1] for n in (1, 2))
    assert old[0] != new[0]
    old_dir, new_dir = (pybuild.root / "layers" / "sha256" / d.split(":")[1] / "app" for d, _ in (old, new))
    assert os.stat(old_dir / "data" / "blob.bin").st_ino == os.stat(new_dir / "data" / "blob.bin").st_ino
    assert os.stat(old_dir / "src" / "main.txt").st_ino != os.stat(new_dir / "src" / "main.txt").st_ino
    # the new layer, half of its files shared with the old one, still makes the tar its record names
    info = write_layer(new_dir.parent, io.BytesIO(), compression="none")
    assert (info.diff_id, info.size) == (new[0], new[1]["tar"]["size"])
    pybuild("rmi", "app:1")
    # prune removes the earlier layer once it is old enough (with the image that named it, whose blob was
    # that layer's tar): the new one keeps its files
    age_store(pybuild.root, 2 * 3600)
    pybuild("prune", "--all")
    assert not old_dir.exists() and new_dir.is_dir()
    assert pybuild("store", "verify").returncode == 0
    ran = pybuild("run", "--rm", "app:2", "sh", "-c", "cat /app/src/main.txt; wc -c < /app/data/blob.bin")
    assert ran.out.split() == ["changed", "3000000"]


def test_no_cache_writes_every_file_afresh(tmp_path, pybuild):
    """Without --no-cache the unchanged files of a rebuild after one file changed are linked (the test
    above); with it, none is. The changed file makes the two layers differ, so the second is kept beside the
    first (two builds of the same context within one second would make one layer, and nothing to compare)."""
    context = _context(tmp_path)
    pybuild("build", "-t", "app:1", str(context))
    (context / "src" / "main.txt").write_text("changed\n")
    pybuild("build", "--no-cache", "-t", "app:2", str(context))
    old, new = (_layers(pybuild, f"app:{n}")[1][0] for n in (1, 2))
    old_dir, new_dir = (pybuild.root / "layers" / "sha256" / d.split(":")[1] / "app" for d in (old, new))
    assert old != new and (new_dir / "src" / "main.txt").read_text() == "changed\n"
    for name in ("data/blob.bin", "src/file010.txt", "src/file059.txt"):
        assert os.stat(old_dir / name).st_ino != os.stat(new_dir / name).st_ino, name


EMPTY_LAYER = "sha256:" + hashlib.sha256(bytes(1024)).hexdigest()  # the end of archive alone


def test_copying_nothing_onto_an_existing_directory_makes_an_empty_layer(tmp_path, pybuild):
    """As through the overlay mount: nothing made, nothing copied up, an empty layer — whether the source is
    empty, wholly ignored or wholly excluded."""
    buildfile = (
        "FROM busybox\nRUN mkdir -p /srv/www\n"
        "COPY empty /srv/www\nCOPY --exclude=* src /srv/www\nCOPY onlyignored /srv/www\n"
        "WORKDIR /wd\nCOPY empty .\n"
    )
    context = write_context(tmp_path / "ctx", buildfile, {"src/a.txt": "a\n", "onlyignored/b.txt": "b\n"})
    (context / "empty").mkdir()
    (context / ".dockerignore").write_text("onlyignored/b.txt\n")
    pybuild("build", "-t", "nothing:1", str(context))
    diff_ids = [d for d, _record in _layers(pybuild, "nothing:1")]
    copies = [diff_ids[i] for i in (2, 3, 4, 6)]
    assert copies == [EMPTY_LAYER] * 4
    assert os.listdir(pybuild.root / "layers" / "sha256" / EMPTY_LAYER.split(":")[1]) == []
    ran = pybuild("run", "--rm", "nothing:1", "sh", "-c", "ls -A /srv/www /wd | wc -w")
    assert ran.out.split() == ["2"]  # the two headings ls prints, no entries


def _copy_records(pybuild) -> dict[str, str]:
    directory = pybuild.root / "state" / "copies"
    records = sorted(directory.glob("*.json")) if directory.is_dir() else []
    return {p.name: json.loads(p.read_text())["diff_id"] for p in records}


def test_the_record_of_a_copy_goes_with_its_layer(tmp_path, pybuild):
    """The record a direct copy leaves for the next one names its layer; prune (and store gc) remove it when
    that layer goes, so records do not pile up in a store whose images come and go."""
    context = _context(tmp_path)
    pybuild("build", "-t", "app:1", str(context))
    layer = _layers(pybuild, "app:1")[1][0]
    assert list(_copy_records(pybuild).values()) == [layer]
    pybuild("rmi", "app:1")
    age_store(pybuild.root, 2 * 3600)
    assert "would remove" in pybuild("prune", "--all", "--dry-run").out
    assert list(_copy_records(pybuild).values()) == [layer]  # a dry run removes nothing
    pybuild("prune", "--all")
    assert not (pybuild.root / "layers" / "sha256" / layer.split(":")[1]).exists()
    assert _copy_records(pybuild) == {}
    assert pybuild("store", "verify").returncode == 0

    # A record left naming a layer that is gone (its gc killed between the two, say): store gc removes it.
    pybuild("build", "-t", "app:2", str(context))
    layer = _layers(pybuild, "app:2")[1][0]
    assert list(_copy_records(pybuild).values()) == [layer]
    assert Store.open(pybuild.root).remove_layer(layer)
    pybuild("store", "gc")
    assert _copy_records(pybuild) == {}
