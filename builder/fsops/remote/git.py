"""ADD of a git repository: ``URL[#ref][:subdir]`` (``https://host/repo.git#v1:docs``, ``git@host:repo``).

The repository is cloned with Debian's ``git`` into a staging directory, the ref (branch, tag or commit;
the remote's HEAD when absent) checked out, and the tree — or its ``subdir`` — copied into the destination
directory, owned by root (or ``--chown``). ``.git`` is dropped unless ``--keep-git-dir``. The step's cache
key holds the commit id, so a new commit on the branch is a miss.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from builder.errors import BuildError
from builder.fsops.remote.fetched import Fetched
from builder.treewalk import walk_bottom_up


def is_git(source: str) -> bool:
    """BuildKit's notion of a git address: ``git@``/``git://``/``ssh://``, or an http(s) URL whose path
    ends in ``.git`` (a ``#fragment`` may follow)."""
    if source.startswith(("git@", "git://", "ssh://")):
        return True
    if source.startswith(("http://", "https://")):
        return urlsplit(source).path.endswith(".git")
    return False


def split_fragment(source: str) -> tuple[str, str, str]:
    """``(url, ref, subdir)`` of ``URL#ref:subdir`` (ref and subdir may be empty)."""
    url, _, fragment = source.partition("#")
    ref, _, subdir = fragment.partition(":")
    return url, ref, subdir.strip("/")


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"
        raise BuildError(f"git {args[0]}: {message}")
    return result.stdout.strip()


def _date(checkout: Path, when: int) -> None:
    """Give every file of the checkout the commit's time: the layer is then a function of the commit, not of
    when it was checked out (BuildKit v0.13 leaves the checkout's times)."""
    for directory, dirs, files in walk_bottom_up(os.fspath(checkout)):
        for name in files + dirs:
            os.utime(os.path.join(directory, name), (when, when), follow_symlinks=False)
    os.utime(checkout, (when, when))


def checkout(source: str, checkout_dir: Path) -> tuple[Path, str]:
    """Clone ``source`` (``URL[#ref][:subdir]``) into ``checkout_dir`` and check out its ref (the remote's
    HEAD when absent); returns ``(checkout_dir, commit id)``. Raises BuildError naming what failed."""
    url, ref, _subdir = split_fragment(source)
    _git("clone", "--quiet", "--no-checkout", "--", url, str(checkout_dir))
    commit = None
    for candidate in [ref, f"origin/{ref}", f"refs/tags/{ref}"] if ref else ["HEAD"]:
        try:
            commit = _git("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", cwd=checkout_dir)
            break
        except BuildError:
            continue
    if commit is None:
        raise BuildError(f"no branch, tag or commit named {ref!r} in {url}")
    _git("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit, cwd=checkout_dir)
    return checkout_dir, commit


def fetch_git(source: str, directory: Path, *, keep_git_dir: bool):
    """Clone ``source`` into ``directory/checkout`` and return what the ADD step needs."""
    from builder.fsops import copy as copy_ins

    url, _ref, subdir = split_fragment(source)
    try:
        checkout_dir, commit = checkout(source, directory / "checkout")
    except BuildError as error:
        if not error.message.startswith("no branch"):
            raise
        raise BuildError(f"ADD {source}: {error.message}") from None
    committed = int(_git("log", "-1", "--format=%ct", commit, cwd=checkout_dir).strip())
    if not keep_git_dir:
        import shutil

        shutil.rmtree(checkout_dir / ".git")
    _date(checkout_dir, committed)
    tree = copy_ins.SourceTree(checkout_dir, name=url)
    if subdir and tree.resolve(subdir) is None:
        raise BuildError(f"ADD {source}: no directory {subdir!r} at {commit[:12]}")

    def place(root: Path, target: str, as_dir: bool, placement: copy_ins.Placement) -> None:
        copy_ins.copy_source(root, tree, subdir, target, True, placement)

    return Fetched({source: f"git {commit} keep-git-dir={keep_git_dir}"}, place)
