"""Hand-made image archives and layouts whose documents a test chooses freely (hostile or not).

`docker_archive` and `oci_layout` write the smallest valid image around one layer unless a test overrides a
document: ``config``/``manifest``/``index`` take a dict (encoded as JSON) or raw bytes (written as they are),
so a case can be any text at all.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def raw(doc) -> bytes:
    return doc if isinstance(doc, bytes) else json.dumps(doc).encode()


def layer_tar(files: dict[str, bytes], *, pax: dict[str, str] | None = None) -> bytes:
    """An uncompressed layer tar of regular files; ``pax`` adds these PAX header fields to every entry."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            if pax:
                info.pax_headers = dict(pax)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def config_for(layers: list[bytes], **fields) -> dict:
    """A minimal image config naming the diff_ids of ``layers``; ``fields`` replace or add top-level keys."""
    doc = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha(layer) for layer in layers]},
    }
    doc.update(fields)
    return doc


def docker_archive(path: Path, layers: list[bytes], *, config=None, manifest=None, tags=("hostile:1",)) -> Path:
    """A docker-archive (tar) holding one image: ``config.json``, ``layerN.tar`` and ``manifest.json``."""
    members = {"config.json": raw(config if config is not None else config_for(layers))}
    names = []
    for number, layer in enumerate(layers):
        names.append(f"layer{number}.tar")
        members[names[-1]] = layer
    if manifest is None:
        manifest = [{"Config": "config.json", "RepoTags": list(tags), "Layers": names}]
    members["manifest.json"] = raw(manifest)
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def oci_layout(
    path: Path,
    layers: list[bytes],
    *,
    config=None,
    manifest=None,
    index=None,
    layer_sizes: list[int] | None = None,
    annotations=None,
) -> Path:
    """An OCI layout directory holding one image named ``docker.io/library/hostile:1`` (by ``annotations``,
    which may be replaced by anything). ``layer_sizes`` states other sizes in the layer descriptors."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict:
        (blobs / sha(data).split(":")[1]).write_bytes(data)
        return {"digest": sha(data), "size": len(data)}

    config_desc = {"mediaType": OCI_CONFIG, **put(raw(config if config is not None else config_for(layers)))}
    layer_descs = [{"mediaType": OCI_LAYER, **put(layer)} for layer in layers]
    for desc, size in zip(layer_descs, layer_sizes or [], strict=False):
        desc["size"] = size
    if manifest is None:
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_desc, "layers": layer_descs}
    entry = {"mediaType": OCI_MANIFEST, **put(raw(manifest))}
    entry["annotations"] = {"io.containerd.image.name": "docker.io/library/hostile:1"}
    if annotations is not None:
        entry["annotations"] = annotations
    if index is None:
        index = {"schemaVersion": 2, "manifests": [entry]}
    (path / "index.json").write_bytes(raw(index))
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return path
