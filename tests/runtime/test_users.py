"""USER resolution: the table against files, and what the process really runs as."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.runtime import ResolvedUser, UserLookupError, resolve_user
from tests.runtime.runtime_helpers import GROUP, PASSWD


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(PASSWD)
    (tmp_path / "etc" / "group").write_text(GROUP)
    return tmp_path


# BuildKit v0.13's rules (tests/build/buildkit/user-groups records what its RUN steps print): the primary gid
# is always the first supplementary group.
@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("", ResolvedUser(0, 0, (0,))),
        ("root", ResolvedUser(0, 0, (0,))),
        ("alice", ResolvedUser(1000, 1000, (1000, 10, 50))),
        ("1001", ResolvedUser(1001, 1001, (1001, 50))),
        ("bob:staff", ResolvedUser(1001, 50, (50,))),
        ("1000:10", ResolvedUser(1000, 10, (10,))),
        ("alice:5000", ResolvedUser(1000, 5000, (5000,))),
        ("4242", ResolvedUser(4242, 0, (0,))),
        ("4242:4242", ResolvedUser(4242, 4242, (4242,))),
        ("1000:wheel", ResolvedUser(1000, 10, (10,))),
    ],
)
def test_resolution_table(rootfs, user, expected):
    assert resolve_user(rootfs, user) == expected


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("nobody", "unable to find user nobody: no matching entries in passwd file"),
        ("alice:nogroup", "unable to find group nogroup: no matching entries in group file"),
    ],
)
def test_unknown_names_are_errors(rootfs, user, message):
    with pytest.raises(UserLookupError, match=message):
        resolve_user(rootfs, user)


def test_image_without_passwd_accepts_numeric_ids_only(tmp_path):
    assert resolve_user(tmp_path, "123") == ResolvedUser(123, 0, (0,))
    assert resolve_user(tmp_path, "123:45") == ResolvedUser(123, 45, (45,))
    with pytest.raises(UserLookupError):
        resolve_user(tmp_path, "root")


def test_passwd_behind_an_absolute_symlink_is_read_inside_the_rootfs(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "passwd").write_text("carol:x:7:8::/:/bin/sh\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").symlink_to("/real/passwd")
    assert resolve_user(tmp_path, "carol") == ResolvedUser(7, 8, (8,))


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        # the kernel keeps supplementary groups sorted
        ("alice", "uid=1000(alice) gid=1000(alice) groups=10(wheel),50(staff),1000(alice)"),
        ("1001", "uid=1001(bob) gid=1001(bob) groups=50(staff),1001(bob)"),
        ("bob:staff", "uid=1001(bob) gid=50(staff) groups=50(staff)"),
        ("4242", "uid=4242 gid=0(root) groups=0(root)"),
    ],
)
def test_process_runs_with_the_resolved_ids(step, base, user, expected):
    status, output, _ = step(base, "id", user=user)
    assert (status, output.strip()) == (0, expected)


def test_home_comes_from_passwd(step, base):
    _, output, _ = step(base, 'echo "$HOME"', user="bob")
    assert output == "/home/bob\n"
