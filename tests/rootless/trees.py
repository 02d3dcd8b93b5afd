"""Reading a saved image (docker-archive) independently of pybuild: its flattened tree and its config."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path


def _layers(archive: Path):
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        config = json.load(outer.extractfile(manifest["Config"]))
        for name in manifest["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(name)) as layer:
                yield config, [(m, _digest(layer, m)) for m in layer.getmembers()]


def _digest(layer: tarfile.TarFile, member: tarfile.TarInfo) -> str | None:
    if not member.isreg():
        return None
    return hashlib.sha256(layer.extractfile(member).read()).hexdigest()


def layer_entries(archive: Path) -> list[dict[str, tuple]]:
    """Each layer's entries as ``{path: (type, mode, uid, gid, content sha256, link)}``, bottom layer first."""
    return [{m.name.rstrip("/"): _entry(m, d) for m, d in members} for _config, members in _layers(archive)]


def _entry(m: tarfile.TarInfo, digest: str | None) -> tuple:
    xattrs = tuple(sorted((k, v) for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")))
    return (m.type.decode(), m.mode & 0o7777, m.uid, m.gid, digest, m.linkname, xattrs)


def flattened(archive: Path) -> dict[str, tuple]:
    """The image's filesystem: layers applied in order, whiteouts and opaque markers honoured."""
    tree: dict[str, tuple] = {}
    for layer in layer_entries(archive):
        for path in layer:
            parent, _, base = path.rpartition("/")
            if base == ".wh..wh..opq":
                tree = {p: e for p, e in tree.items() if not p.startswith(parent + "/")}
            elif base.startswith(".wh."):
                hidden = f"{parent}/{base[4:]}" if parent else base[4:]
                tree = {p: e for p, e in tree.items() if p != hidden and not p.startswith(hidden + "/")}
        for path, entry in layer.items():
            if not path.rpartition("/")[2].startswith(".wh."):
                tree[path] = entry
    return tree


def config_without_times(archive: Path) -> dict:
    """The image config with its creation times removed (two builds never share them) and the layer
    digests (they cover file mtimes; the trees are compared by `flattened`)."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        config = json.load(outer.extractfile(manifest["Config"]))
    config.pop("created", None)
    config["rootfs"] = len(config["rootfs"]["diff_ids"])
    for entry in config.get("history", []):
        entry.pop("created", None)
    return config
