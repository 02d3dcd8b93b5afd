"""Owners named through passwd/group entries whose numeric fields are not numbers: ``USER`` (for RUN and
WORKDIR) and ``--chown`` read them as runc's parser does, as 0, and never fail on them. The expected
output is what BuildKit v0.13 gives for the same Buildfile (tests/build/buildkit/user-odd-passwd)."""

from __future__ import annotations

from pathlib import Path

from tests.build.conftest import write_context

ODD_ENTRIES = (
    "RUN echo 'odd:x:abc:0::/:/bin/sh' >> /etc/passwd && echo 'half:x:77:xyz::/:/bin/sh' >> /etc/passwd "
    "&& echo 'short:x:88' >> /etc/passwd && echo 'ogrp:x:nan:half' >> /etc/group\n"
)


def test_user_and_workdir_with_odd_passwd_fields(pybuild, tmp_path: Path):
    buildfile = (
        f"FROM busybox:latest\n{ODD_ENTRIES}"
        "USER odd\nWORKDIR /w1\nRUN id > /tmp/id1\n"
        "USER half\nWORKDIR /w2\nRUN id > /tmp/id2\n"
        "USER half:ogrp\nRUN id > /tmp/id3\n"
        "USER short\nWORKDIR /w3\nRUN stat -c '%n %u %g' /w1 /w2 /w3 > /tmp/owners\n"
    )
    context = write_context(tmp_path / "ctx", buildfile)
    built = pybuild("-t", "odd:1", str(context), check=False)
    assert built.returncode == 0, built.err
    shown = pybuild("run", "odd:1", "cat", "/tmp/id1", "/tmp/id2", "/tmp/id3", "/tmp/owners").out
    assert shown.splitlines() == [
        "uid=0(root) gid=0(root) groups=0(root)",
        "uid=77 gid=0(root) groups=0(root)",
        "uid=77 gid=0(root) groups=0(root)",
        "/w1 0 0",
        "/w2 77 0",
        "/w3 88 0",
    ]


def test_user_naming_nobody_in_passwd_is_still_an_error(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", f"FROM busybox:latest\n{ODD_ENTRIES}USER ghost\nRUN true\n")
    built = pybuild("-t", "ghost:1", str(context), check=False)
    assert built.returncode == 1
    assert "Buildfile:4:1: error: unable to find user ghost: no matching entries in passwd file" in built.err
