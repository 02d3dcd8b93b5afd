"""``COPY --exclude`` shapes the step's cache key as it shapes the layer: an edit to an excluded file keeps
the step cached, an edit to a copied one does not."""

from __future__ import annotations

from pathlib import Path

from tests.build.conftest import write_context

BUILDFILE = "FROM busybox:latest\nCOPY --exclude=*.log --exclude=tmp src /dst/\n"


def test_an_edit_to_an_excluded_file_is_a_cache_hit(pybuild, tmp_path: Path):
    files = {"src/keep.txt": "k\n", "src/x.log": "one\n", "src/tmp/t.txt": "t\n", "src/sub/y.log": "y\n"}
    context = write_context(tmp_path / "ctx", BUILDFILE, files)
    pybuild("-t", "ex:1", str(context))

    (context / "src" / "x.log").write_text("two\n")
    (context / "src" / "tmp" / "t.txt").write_text("changed\n")
    (context / "src" / "tmp" / "new.txt").write_text("new\n")
    again = pybuild("-t", "ex:1", str(context))
    assert "#1 CACHED" in again.err, again.err

    (context / "src" / "sub" / "y.log").write_text("below the top: not excluded by *.log\n")
    third = pybuild("-t", "ex:1", str(context))
    assert "#1 CACHED" not in third.err
    assert "sub/y.log changed" in third.err, third.err
