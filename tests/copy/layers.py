"""Reading the COPY/ADD layers of a saved image (docker-archive) as comparable entries."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path


def _entry(layer: tarfile.TarFile, member: tarfile.TarInfo) -> list:
    """``[name, type, permission bits, uid, gid, link target, content digest]`` of one tar entry."""
    digest = ""
    if member.isreg():
        digest = hashlib.sha256(layer.extractfile(member).read()).hexdigest()[:16]
    return [
        member.name.rstrip("/"),
        member.type.decode(),
        member.mode & 0o7777,
        member.uid,
        member.gid,
        member.linkname,
        digest,
    ]


def image_layers(archive: Path) -> list[dict]:
    """Each COPY/ADD layer of the image: its history text (without `` # buildkit``) and its entries."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        config = json.load(outer.extractfile(manifest["Config"]))
        history = [h for h in config["history"] if not h.get("empty_layer")]
        result = []
        for step, name in zip(history, manifest["Layers"], strict=True):
            text = step.get("created_by", "").removesuffix(" # buildkit")
            if not text.startswith(("COPY ", "ADD ")):
                continue
            with tarfile.open(fileobj=outer.extractfile(name)) as layer:
                result.append({"step": text, "entries": [_entry(layer, m) for m in layer.getmembers()]})
        return result
