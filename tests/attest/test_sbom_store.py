"""The SBOM of an image pybuild built, read from the store's unpacked layers as they are (no mount): a file a
later RUN deleted (a whiteout in its layer) is not in it; what COPY and RUN added is."""

from __future__ import annotations

import json

import pytest
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from builder.attest.files import LayeredFiles
from builder.attest.intoto import go_json
from builder.attest.sbom import sbom_document
from builder.store import Store
from tests.attest.test_sbom import CREATED
from tests.support.images import import_busybox, pybuild

pytestmark = pytest.mark.root

BUILDFILE = """FROM bb:1
RUN mkdir -p /usr/lib/python3/dist-packages && cd /usr/lib/python3/dist-packages \\
 && printf 'Name: kept\\nVersion: 1.0\\n' > kept-1.0.egg-info \\
 && printf 'Name: gone\\nVersion: 2.0\\n' > gone-2.0.egg-info
RUN rm /usr/lib/python3/dist-packages/gone-2.0.egg-info
COPY lodash /app/node_modules/lodash
"""


def test_sbom_of_a_built_image_from_its_store_layers(tmp_path):
    root = tmp_path / "store"
    import_busybox(root, "bb:1", tmp_path)
    context = tmp_path / "ctx"
    (context / "lodash").mkdir(parents=True)
    (context / "lodash/package.json").write_text(json.dumps({"name": "lodash", "version": "4.17.21"}))
    (context / "Buildfile").write_text(BUILDFILE)
    pybuild(root, "build", "-f", str(context / "Buildfile"), "-t", "app:1", str(context))
    inspected = json.loads(pybuild(root, "inspect", "app:1").stdout)
    if isinstance(inspected, list):
        inspected = inspected[0]
    diff_ids = inspected["RootFS"]["diff_ids"]
    assert len(diff_ids) == 4
    store = Store.open(root)
    try:
        document = sbom_document(LayeredFiles.of_image(store, diff_ids), name="app:1", created=CREATED)
    finally:
        store.close()
    out = tmp_path / "sbom.spdx.json"
    out.write_bytes(go_json(document))
    assert [m.validation_message for m in validate_full_spdx_document(parse_file(str(out)))] == []
    found = {p["name"]: p.get("versionInfo") for p in document["packages"][1:]}
    assert found == {"kept": "1.0", "lodash": "4.17.21"}
