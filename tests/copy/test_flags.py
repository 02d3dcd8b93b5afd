"""COPY/ADD behaviour the reference (Docker 26.1's BuildKit v0.13, built-in Dockerfile 1.7 frontend) cannot
show, checked against the Dockerfile reference: ``--parents``, ``--exclude`` and symbolic ``--chmod`` (later
frontends; v0.13 refuses the first two and ignores the third), ``--link`` (Docker's classic image store runs
it as a plain COPY on the parent; pybuild makes the independent layer BuildKit makes with an OCI store),
``<Buildfile>.dockerignore``, and the cache ``files`` part. Zstd archives and heredoc sources are also in the
v0.13 recordings (``buildkit/add-zstd.json``, ``buildkit/heredoc-sources.json``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.copy.cases import Case, make_context, tar_bytes
from tests.copy.layers import image_layers

FILES = {"a.txt": "hi\n", "x/a.txt": "xa\n", "x/y/b.txt": "xyb\n", "x/y/c.log": "log\n", "z/y/d.txt": "d\n"}


def _layers(pybuild, tmp_path: Path, case: Case, *extra: str) -> list[dict]:
    context = make_context(case, tmp_path)
    pybuild(*extra, "-f", str(context / "Buildfile"), "-t", "flags:1", str(context))
    archive = tmp_path / "image.tar"
    pybuild("save", "flags:1", "-o", str(archive))
    return image_layers(archive)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_parents_keep_the_source_path(pybuild, tmp_path: Path):
    layers = _layers(
        pybuild,
        tmp_path,
        Case(
            "FROM busybox:latest\nCOPY --parents x/a.txt z/y/d.txt /p/\nCOPY --parents ./x/./y/*.txt /q/\n"
            "COPY --parents x/y /r/\n",
            FILES,
        ),
    )
    names = [[e[0] for e in layer["entries"]] for layer in layers]
    assert names[0] == ["p", "p/x", "p/x/a.txt", "p/z", "p/z/y", "p/z/y/d.txt"]
    assert names[1] == ["q", "q/y", "q/y/b.txt"]
    assert names[2] == ["r", "r/x", "r/x/y", "r/x/y/b.txt", "r/x/y/c.log"]


def test_exclude_patterns(pybuild, tmp_path: Path):
    layers = _layers(
        pybuild,
        tmp_path,
        Case(
            "FROM busybox:latest\nCOPY --exclude=*.log --exclude=y/b.txt x /e/\n"
            "COPY --exclude=**/*.txt . /f/\n",
            FILES,
        ),
    )
    # patterns match the path below the source as the ignore file does: "*.log" only at its top
    assert [e[0] for e in layers[0]["entries"]] == ["e", "e/a.txt", "e/y", "e/y/c.log"]
    assert [e[0] for e in layers[1]["entries"]] == [
        "f",
        "f/Buildfile",
        "f/x",
        "f/x/y",
        "f/x/y/c.log",
        "f/z",
        "f/z/y",
    ]


def test_symbolic_chmod(pybuild, tmp_path: Path):
    layers = _layers(
        pybuild,
        tmp_path,
        Case(
            "FROM busybox:latest\nCOPY --chmod=u+x,g=r,o-r a.txt /s1\nCOPY --chmod=a+X,go-w x /s2/\n"
            "COPY --chmod=755 a.txt /s3\n",
            FILES,
        ),
    )
    assert layers[0]["entries"][0][:3] == ["s1", "0", 0o740]
    modes = {e[0]: e[2] for e in layers[1]["entries"]}
    assert modes["s2/a.txt"] == 0o644 and modes["s2/y"] == 0o755  # X: only directories (and executables)
    assert layers[2]["entries"][0][2] == 0o755


def test_link_layer_does_not_depend_on_parent(pybuild, tmp_path: Path):
    # The parent makes /linked a symlink and /data a 0700 directory; a --link layer sees neither.
    buildfile = (
        "FROM busybox:latest\nRUN mkdir -m 700 /data && mkdir /real && ln -s /real /linked\n"
        "COPY a.txt /linked/\nCOPY --link a.txt /data/a.txt\nCOPY --link a.txt /linked/\n"
    )
    layers = _layers(pybuild, tmp_path, Case(buildfile, FILES))
    assert [e[0] for e in layers[0]["entries"]] == ["real", "real/a.txt"]  # without --link: through the link
    assert layers[1]["entries"] == [
        ["data", "5", 0o755, 0, 0, "", ""],
        ["data/a.txt", "0", 0o644, 0, 0, "", _digest("hi\n")],
    ]
    assert [e[0] for e in layers[2]["entries"]] == ["linked", "linked/a.txt"]  # a directory of its own


def test_add_zstd_archive_is_unpacked_copy_is_not(pybuild, tmp_path: Path):
    case = Case(
        "FROM busybox:latest\nADD arc.tzst /u/\nCOPY arc.tzst /c/\n",
        archives={"arc.tzst": ("zst", {"z/five": "5\n"})},
    )
    layers = _layers(pybuild, tmp_path, case)
    assert layers[0]["entries"] == [
        ["u", "5", 0o755, 0, 0, "", ""],
        ["u/z", "5", 0o755, 0, 0, "", ""],
        ["u/z/five", "0", 0o640, 1000, 1000, "", _digest("5\n")],
    ]
    assert [e[0] for e in layers[1]["entries"]] == ["c", "c/arc.tzst"]


def test_add_archive_dotdot_entry_stays_in_the_destination(pybuild, tmp_path: Path):
    """BuildKit v0.13 resolves ``..`` with the destination as the root (tests/build/buildkit/
    add-archive-dotdot-link records it): the entry lands inside, nothing is written outside."""
    context = make_context(Case("FROM busybox:latest\nADD evil.tar /u/\n"), tmp_path)
    (context / "evil.tar").write_bytes(tar_bytes("", {"../../escape": "x\n", "/abs": "y\n"}))
    pybuild("-f", str(context / "Buildfile"), "-t", "flags:1", str(context))
    pybuild("save", "flags:1", "-o", str(tmp_path / "image.tar"))
    layers = image_layers(tmp_path / "image.tar")
    assert [e[0] for e in layers[0]["entries"]] == ["u", "u/abs", "u/escape"]


def test_buildfile_specific_ignore_file_wins(pybuild, tmp_path: Path):
    context = make_context(Case("FROM busybox:latest\nCOPY . /c/\n", FILES, ignore="x\n"), tmp_path)
    (context / "Buildfile.dockerignore").write_text("z\n*.txt\n")
    archive = tmp_path / "image.tar"
    pybuild("-f", str(context / "Buildfile"), "-t", "ign:1", str(context))
    pybuild("save", "ign:1", "-o", str(archive))
    names = [e[0] for e in image_layers(archive)[0]["entries"]]
    assert names == [
        "c",
        "c/.dockerignore",
        "c/Buildfile",
        "c/Buildfile.dockerignore",
        "c/x",
        "c/x/a.txt",
        "c/x/y",
        "c/x/y/b.txt",
        "c/x/y/c.log",
    ]


def test_heredoc_source(pybuild, tmp_path: Path):
    buildfile = "# syntax=docker/dockerfile:1\nFROM busybox:latest\nCOPY <<EOF /h/note\nhello\nEOF\n"
    layers = _layers(pybuild, tmp_path, Case(buildfile))
    assert layers[0]["entries"][-1] == ["h/note", "0", 0o644, 0, 0, "", _digest("hello\n")]


def test_cache_hits_and_names_the_changed_file(pybuild, tmp_path: Path):
    context = make_context(Case("FROM busybox:latest\nCOPY x /x/\n", FILES, ignore="x/y/c.log\n"), tmp_path)
    pybuild("-f", str(context / "Buildfile"), str(context))
    (context / "x" / "y" / "c.log").write_text("ignored change\n")
    again = pybuild("--progress=plain", "-f", str(context / "Buildfile"), str(context))
    assert "CACHED" in again.out + again.err
    (context / "x" / "a.txt").write_text("changed\n")
    changed = pybuild("--progress=plain", "-f", str(context / "Buildfile"), str(context))
    assert "x/a.txt changed" in changed.out + changed.err
