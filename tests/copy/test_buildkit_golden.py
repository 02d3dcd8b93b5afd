"""Each case of ``cases.py`` built by pybuild must give the COPY/ADD layers BuildKit gave (recorded in
``buildkit/<case>.json`` by ``record_buildkit.py``): the same entries with the same type, permission bits,
owner, link target and content — or, where BuildKit failed, a located error naming the same path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.copy.cases import CASES, make_context
from tests.copy.layers import image_layers

GOLDEN = Path(__file__).parent / "buildkit"
NAMES = sorted(p.stem for p in GOLDEN.glob("*.json"))
# Both builders pull an image the store lacks (tests/copy/test_from_pull.py); without a network the attempt
# only costs time, so this case is built with --pull=never and pybuild's own message is checked.
OWN_ERRORS = {"from-missing-image": "--from=nosuch:image: image not found: nosuch:image"}
OWN_ARGS = {"from-missing-image": ["--pull=never"]}


@pytest.mark.parametrize("name", NAMES)
def test_layers_match_buildkit(pybuild, tmp_path: Path, name: str):
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    context = make_context(CASES[name], tmp_path)
    args = OWN_ARGS.get(name, [])
    built = pybuild(*args, "-f", str(context / "Buildfile"), "-t", "golden:1", str(context), check=False)
    if "error" in expected:
        assert built.returncode != 0, f"BuildKit failed with {expected['error']!r}; pybuild succeeded"
        assert re.search(r"Buildfile:\d+:\d+: error:", built.err), built.err
        want = OWN_ERRORS.get(name) or re.search(r'"/[^"]*" not found', expected["error"]).group(0)
        assert want in built.err
        return
    assert built.returncode == 0, built.err
    archive = tmp_path / "image.tar"
    pybuild("save", "golden:1", "-o", str(archive))
    assert image_layers(archive) == expected["layers"]
