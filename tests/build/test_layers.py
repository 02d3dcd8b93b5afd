"""Layers end to end: many of them, and deletions that must flatten to exactly what a shell leaves."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from tests.build.conftest import write_context

SETUP = """\
mkdir -p /t/keep /t/gone/sub /t/dir2file /t/emptied
echo a > /t/keep/a; echo b > /t/gone/sub/b; echo c > /t/dir2file/c; echo d > /t/file2dir
echo e > /t/emptied/e; echo f > /t/plain; ln -s plain /t/link
"""
CHANGE = """\
rm -rf /t/gone /t/plain; rm -rf /t/dir2file; echo now-a-file > /t/dir2file
rm /t/file2dir; mkdir /t/file2dir; echo inside > /t/file2dir/x
rm -rf /t/emptied/*; echo new > /t/emptied/n; rm /t/link; ln -s keep /t/link
"""
AND_BACK = "rm /t/dir2file; mkdir /t/dir2file; echo back > /t/dir2file/y\n"


def _listing(root: Path) -> dict[str, str]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                found[rel] = f"link {os.readlink(path)}"
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = "dir"
            else:
                found[rel] = f"file {path.read_text()}"
    return found


def _flatten(pybuild, ref: str, dest: Path) -> Path:
    from builder.layer import ROOT_FORM, apply_layer
    from builder.store import Store

    store = Store.open(pybuild.root)
    manifest_digest = store.get_tag(f"docker.io/library/{ref}")
    manifest = json.loads(store.read_blob(manifest_digest))
    dest.mkdir()
    for layer in manifest["layers"]:
        with store.open_blob(layer["digest"]) as blob:
            apply_layer(blob, dest, mode="flatten", form=ROOT_FORM)
    store.close()
    return dest


def test_whiteouts_flatten_to_what_a_shell_leaves(pybuild, tmp_path: Path):
    buildfile = "FROM busybox:latest\n" + "".join(
        f"RUN {' && '.join(line.rstrip(';') for line in script.strip().splitlines())}\n"
        for script in (SETUP, CHANGE, AND_BACK)
    )
    context = write_context(tmp_path / "ctx", buildfile)
    pybuild("-f", str(context / "Buildfile"), "-t", "wh:1", str(context))
    flat = _flatten(pybuild, "wh:1", tmp_path / "flat")

    expected_root = tmp_path / "shell"
    expected_root.mkdir()
    script = (SETUP + CHANGE + AND_BACK).replace("/t", str(expected_root / "t"))
    subprocess.run(["sh", "-ec", script], check=True)
    assert _listing(flat / "t") == _listing(expected_root / "t")
    # nothing of the deleted entries survives as an OCI whiteout in the flattened tree
    assert not [name for _, dirs, files in os.walk(flat) for name in dirs + files if name.startswith(".wh.")]


def test_150_layers_build_and_run(pybuild, tmp_path: Path):
    steps = "".join(f"RUN echo {i} > /layer{i:03d}\n" for i in range(150))
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\n" + steps)
    pybuild("-f", str(context / "Buildfile"), "-t", "many:1", str(context), timeout=1800)
    result = pybuild("run", "many:1", "sh", "-c", "cat /layer000 /layer075 /layer149; ls / | grep -c layer")
    assert result.out == "0\n75\n149\n150\n"
    inspect = json.loads(pybuild("inspect", "many:1").out)
    assert len(json.dumps(inspect)) > 0
