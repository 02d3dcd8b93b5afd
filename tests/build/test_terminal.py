"""What a person at a terminal sees: coloured progress and errors (none with ``NO_COLOR``, none when the
output is not a terminal), and shell completion scripts for bash and zsh."""

from __future__ import annotations

import os
import pty
import re
import subprocess

from tests.build.conftest import REPO, write_context

SGR_COLOUR = re.compile(rb"\x1b\[3\dm")


def _in_terminal(pybuild, *args: str, env: dict | None = None) -> bytes:
    """Run pybuild with stdout and stderr on a pseudo-terminal; everything it wrote there."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        pybuild.argv(*args), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=REPO,
        env={**os.environ, "TERM": "xterm", **(env or {})},
    )  # fmt: skip
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    process.wait(600)
    return output


def test_progress_and_errors_are_coloured_in_a_terminal(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo hi\n")
    shown = _in_terminal(pybuild, str(context), env={"NO_COLOR": ""})
    assert re.search(rb"\x1b\[34m#1 \[[^\]]+\] RUN echo hi\x1b\[0m", shown)
    assert b"\x1b[32mbuilt " in shown
    bad = write_context(tmp_path / "bad", "FROM busybox:latest\nRUNN x\n")
    assert re.search(
        rb"\x1b\[31m[^\x1b]*Buildfile:2:1: error: unknown instruction: RUNN\x1b\[0m",
        _in_terminal(pybuild, str(bad)),
    )


def test_no_color_and_pipes_get_no_colour(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nRUN echo hi\n")
    shown = _in_terminal(pybuild, str(context), env={"NO_COLOR": "1"})
    assert b"RUN echo hi" in shown and not SGR_COLOUR.search(shown)
    piped = pybuild(str(context))
    assert "RUN echo hi" in piped.err and not SGR_COLOUR.search(piped.stderr)


def test_bash_completion_completes_commands_and_build_options(pybuild, tmp_path):
    script = tmp_path / "pybuild.bash"
    script.write_bytes(pybuild("completion", "bash").stdout)
    probe = (
        f"source {script}\n"
        'complete() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE};\n'
        '  _shtab_pybuild pybuild "${@: -1}" "${@: -2:1}"; printf "%s\\n" "${COMPREPLY[@]}"; }\n'
        "complete pybuild comp\n"
        "complete pybuild build --build-con\n"
        "complete pybuild build --progress raw\n"
        "complete pybuild build -f Buil\n"
        "complete pybuild build sub\n"
    )
    (tmp_path / "Buildfile").write_text("FROM scratch\n")
    (tmp_path / "subdir").mkdir()
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert result.stdout.split() == ["completion", "--build-context", "rawjson", "Buildfile", "subdir"]


def test_zsh_completion_registers_the_command(pybuild, tmp_path):
    script = tmp_path / "_pybuild"
    script.write_bytes(pybuild("completion", "zsh").stdout)
    subprocess.run(["zsh", "-n", str(script)], check=True)
    probe = (
        f'autoload -U compinit; compinit -u -D; eval "$(<{script})"\n'
        "print ${_comps[pybuild]}\n"
        "print -l $_shtab_pybuild_build_options | grep -c -- '--build-context\\[' \n"
    )
    result = subprocess.run(["zsh", "-f", "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["_shtab_pybuild", "1"]


def test_completion_refuses_other_shells(pybuild):
    result = pybuild("completion", "fish", check=False)
    assert result.returncode == 2 and "invalid choice: 'fish'" in result.err


def test_an_archive_is_not_written_to_a_terminal(pybuild, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\n")
    shown = _in_terminal(pybuild, "-o", "type=docker,dest=-", str(context), env={"NO_COLOR": "1"})
    assert b"output file is required for docker exporter. refusing to write to console" in shown
    assert b"manifest.json" not in shown
