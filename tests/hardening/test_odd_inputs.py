"""Inputs that used to be ignored silently (issue 20, item 10): a ``--secret`` file that does not exist, and a
named pipe in the build context.

Expectations recorded from Docker 26.1 / BuildKit v0.13 (``docker buildx build``):

- ``--secret id=x,src=/nonexistent`` fails at once (``ERROR: failed to stat /nonexistent: … no such file or
  directory``, exit 1), whether or not a RUN mounts it; so does ``--secret id=nosuchfile`` (the file named
  like the id). ``--secret id=x,env=UNSET`` does not fail.
- ``COPY . /c/`` of a context holding a named pipe makes ``/c/pipe`` a named pipe (``prw-r--r--`` root
  root, size 0), also in a subdirectory, and ``COPY pipe /p`` makes ``/p`` one; nothing blocks reading it.
"""

from __future__ import annotations

import os

from tests.hardening.conftest import write_context


def test_a_secret_file_that_does_not_exist_fails_at_once(cli, tmp_path):
    ctx = write_context(tmp_path / "ctx", "FROM busybox\nRUN echo ran\n")
    missing = tmp_path / "nonexistent"
    result = cli("build", "--secret", f"id=x,src={missing}", str(ctx), check=False)
    assert result.returncode == 2, result.err
    assert f"--secret 'id=x,src={missing}'" in result.err and "No such file or directory" in result.err
    assert "Traceback" not in result.err and "ran" not in result.out + result.err
    # the file named like the id, when neither src nor env is given
    result = cli("build", "--secret", "id=no-such-secret-file", str(ctx), check=False)
    assert result.returncode == 2 and "no-such-secret-file" in result.err, result.err
    # an unset variable is not an error (a RUN that requires the secret fails, located, instead)
    cli("build", "--secret", "id=x,env=PYBUILD_TEST_UNSET_VARIABLE", str(ctx))


def test_copy_of_a_named_pipe_makes_a_named_pipe(cli, tmp_path):
    ctx = write_context(
        tmp_path / "ctx",
        "FROM busybox\nCOPY . /c/\nCOPY pipe /p\n"
        "RUN for f in /c/pipe /c/d/inner /p; do test -p $f && echo FIFO $f $(stat -c '%a %u %g %s' $f); done\n",
    )
    os.mkfifo(ctx / "pipe", 0o644)
    (ctx / "d").mkdir()
    os.mkfifo(ctx / "d" / "inner", 0o600)
    os.chmod(ctx / "pipe", 0o644)
    os.chmod(ctx / "d" / "inner", 0o600)
    result = cli("build", "--progress", "plain", "--no-cache", str(ctx), timeout=120)
    shown = result.out + result.err
    assert "FIFO /c/pipe 644 0 0 0" in shown, shown
    assert "FIFO /c/d/inner 600 0 0 0" in shown, shown
    assert "FIFO /p 644 0 0 0" in shown, shown
