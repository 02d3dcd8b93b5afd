"""Walking a real context directory through ignore rules."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.context import IgnoreRules, walk_context
from builder.context import walk as walk_module
from builder.errors import BuildError

TREE = [
    "Buildfile",
    "README.md",
    "app/main.py",
    "app/util/helpers.py",
    "app/util/notes.md",
    "build/out.o",
    "build/keep.txt",
    "build/deep/keep.txt",
    "build/deep/x.o",
    "docs/a.md",
    "docs/img/logo.png",
    "node_modules/pkg/index.js",
    "node_modules/pkg/README.md",
    "z.log",
]


def _make_tree(root: Path) -> Path:
    for name in TREE:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return root


@pytest.fixture
def context(tmp_path: Path) -> Path:
    return _make_tree(tmp_path / "ctx")


def _walk(root: Path, patterns: list[str] | None = None) -> list[str]:
    return [rel for rel, _ in walk_context(root, IgnoreRules(patterns) if patterns is not None else None)]


def test_everything_in_order_without_rules(context: Path) -> None:
    walked = _walk(context)
    assert walked[:4] == ["Buildfile", "README.md", "app", "app/main.py"]
    assert set(walked) == set(TREE) | {
        "app",
        "app/util",
        "build",
        "build/deep",
        "docs",
        "docs/img",
        "node_modules",
        "node_modules/pkg",
    }
    for index, rel in enumerate(walked):  # a directory comes before anything in it
        if "/" in rel:
            assert walked.index(rel.rsplit("/", 1)[0]) < index


def test_symlinks_are_reported_not_followed(context: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    (context / "link").symlink_to(outside)
    (context / "dangling").symlink_to(tmp_path / "nowhere")
    entries = dict(walk_context(context))
    assert stat.S_ISLNK(entries["link"].st_mode) and stat.S_ISLNK(entries["dangling"].st_mode)
    assert not any(rel.startswith("link/") for rel in entries)


def test_excluded_directories_are_not_opened(context: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real_scandir = os.scandir

    def watching_scandir(path: str) -> object:
        opened.append(os.path.relpath(path, context))
        return real_scandir(path)

    monkeypatch.setattr(walk_module.os, "scandir", watching_scandir)
    walked = _walk(context, ["node_modules", "build", "!build/deep/keep.txt", "*.log"])
    assert "node_modules" not in opened
    assert "build" in opened and "build/deep" in opened  # an exception lies below: look inside
    assert [p for p in walked if p.startswith("build")] == ["build", "build/deep", "build/deep/keep.txt"]
    assert "z.log" not in walked


def test_wildcard_exception_opens_excluded_directories(context: Path) -> None:
    walked = _walk(context, ["build", "node_modules", "!**/keep.txt"])
    # The excluded directories are reported only because something inside them is kept.
    assert [p for p in walked if p.startswith(("build", "node_modules"))] == [
        "build",
        "build/deep",
        "build/deep/keep.txt",
        "build/keep.txt",
    ]


def test_unreadable_directory(context: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir

    def failing_scandir(path: str) -> object:
        if os.path.basename(path) in ("node_modules", "app"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(walk_module.os, "scandir", failing_scandir)
    # Excluded but opened (a wildcard exception could match inside): unreadable is fine, it is left out.
    walked = _walk(context, ["node_modules", "app", "!app/main.py", "!**/nothing"])
    assert "node_modules" not in walked and "docs/a.md" in walked
    with pytest.raises(BuildError, match="cannot read app in the build context: Permission denied"):
        _walk(context, ["node_modules"])


POOL = [
    "*.md",
    "build",
    "!build/keep.txt",
    "!**/keep.txt",
    "**/*.o",
    "docs/**",
    "!docs/img",
    "app/*",
    "!app/util",
    "node_modules/",
    "!node_modules/pkg/README.md",
    "*",
    "!*.md",
    "**",
    "app/util/h*",
]


@pytest.fixture(scope="module")
def shared_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_tree(tmp_path_factory.mktemp("walk") / "ctx")


def _chain_excludes(rules: IgnoreRules, path: str) -> bool:
    """The answer for ``path`` when each parent directory's result is handed down, as in a walk."""
    parts = path.split("/")
    info = None
    excluded = False
    for depth in range(1, len(parts) + 1):
        excluded, info = rules.match_with_parent("/".join(parts[:depth]), info)
    return excluded


@settings(max_examples=150, deadline=None)
@given(patterns=st.lists(st.sampled_from(POOL), max_size=5))
def test_pruning_never_loses_a_kept_entry(shared_context: Path, patterns: list[str]) -> None:
    """The walk keeps exactly the entries the rules keep, plus the directories leading to them."""
    rules = IgnoreRules(patterns)
    everything = _walk(shared_context)
    kept = {p for p in everything if not _chain_excludes(rules, p)}
    expected = kept | {"/".join(p.split("/")[:i]) for p in kept for i in range(1, p.count("/") + 1)}
    walked = _walk(shared_context, patterns)
    assert walked == [p for p in everything if p in expected]


def test_walk_hands_parent_results_down_like_buildkit(context: Path) -> None:
    # A quirk of the walk BuildKit's sender does (patternmatcher's MatchesUsingParentResults): the second
    # "build" was skipped for the directory, so it does not count for the file, and the exception wins.
    # Matching the path on its own (MatchesOrParentMatches, what excludes() does) says the opposite.
    patterns = ["build", "!build/keep.txt", "build"]
    assert IgnoreRules(patterns).excludes("build/keep.txt")
    assert "build/keep.txt" in _walk(context, patterns)
