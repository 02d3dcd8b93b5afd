"""``pybuild load`` of an OCI layout whose index carries attestation manifests: they are kept with the index,
and one whose descriptors could name files outside the layout is refused (no traceback, nothing stored)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.build.conftest import Pybuild


def _put(layout: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layout(tmp_path: Path, statement_digest: str | None = None) -> Path:
    """A layout: a one-file image and its attestation manifest in a nested index named ``x:1``."""
    import gzip
    import io
    import tarfile

    layout = tmp_path / "layout"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("f")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"x\n"))
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    layer = _put(layout, gzip.compress(raw.getvalue(), mtime=0))
    config = _put(
        layout,
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        ).encode(),
    )
    manifest_doc = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }
    manifest = _put(layout, json.dumps(manifest_doc).encode())
    statement = _put(layout, b'{"_type":"https://in-toto.io/Statement/v0.1"}')
    if statement_digest is not None:
        statement["digest"] = statement_digest
    att_config = _put(layout, b'{"architecture":"unknown","os":"unknown","config":{}}')
    attestation = _put(
        layout,
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **att_config},
                "layers": [{"mediaType": "application/vnd.in-toto+json", **statement}],
            }
        ).encode(),
    )
    index = _put(
        layout,
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        **manifest,
                        "platform": {"architecture": "amd64", "os": "linux"},
                    },
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        **attestation,
                        "annotations": {
                            "vnd.docker.reference.digest": manifest["digest"],
                            "vnd.docker.reference.type": "attestation-manifest",
                        },
                        "platform": {"architecture": "unknown", "os": "unknown"},
                    },
                ],
            }
        ).encode(),
    )
    top = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        **index,
        "annotations": {
            "io.containerd.image.name": "docker.io/library/x:1",
            "org.opencontainers.image.ref.name": "1",
        },
    }
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return layout


def test_load_keeps_the_attestations_with_the_index(tmp_path):
    tool = Pybuild(tmp_path / "store")
    tool("load", "-i", str(_layout(tmp_path)))
    shown = json.loads(tool("inspect", "x:1").out)[0]
    (attestation,) = shown["Attestations"]
    assert attestation["Reference"] == shown["Digest"] and attestation["Platform"] == "linux/amd64"
    assert "sound" in tool("store", "verify").out


def test_an_attestation_naming_a_path_outside_the_layout_is_refused(tmp_path):
    outside = tmp_path / "secret"
    outside.write_text("not a blob")
    tool = Pybuild(tmp_path / "store")
    result = tool("load", "-i", str(_layout(tmp_path, statement_digest="sha256:../../../secret")), check=False)
    assert result.returncode != 0 and "malformed descriptors" in result.err and "Traceback" not in result.err
    assert tool("images", "-q").out == ""
