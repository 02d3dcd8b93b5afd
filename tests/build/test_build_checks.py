# ruff: noqa: E501 -- the expected outputs keep their long lines
"""Build checks through the CLI: ``build --check`` / ``--call=check`` report and stop, a build warns first,
``# check=`` options, exit codes. Texts and exit codes are buildx's and BuildKit's (see
tests/checks/buildkit_cases.py for where they were recorded); the located layout is pybuild's own."""

from __future__ import annotations

from pathlib import Path

from tests.build.conftest import write_context

BUILDFILE = "FROM busybox:latest as Build\nCMD echo hi\n"

EXPECTED_CHECK = """\
{path}:1:24: warning: StageNameCasing: Stage name 'Build' should be lowercase
  FROM busybox:latest as Build
                         ^
  Stage names should be lowercase (https://docs.docker.com/go/dockerfile/rule/stage-name-casing/)

{path}:1:21: warning: FromAsCasing: 'as' and 'FROM' keywords' casing do not match
  FROM busybox:latest as Build
                      ^
  The 'as' keyword should match the case of the 'from' keyword (https://docs.docker.com/go/dockerfile/rule/from-as-casing/)

{path}:2:1: warning: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals
  CMD echo hi
  ^
  JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals (https://docs.docker.com/go/dockerfile/rule/json-args-recommended/)

Check complete, 3 warnings have been found!
"""


def _exists(pybuild, name: str) -> bool:
    return pybuild("inspect", name, check=False).returncode == 0


def test_check_reports_findings_and_builds_nothing(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    for flag in ("--check", "--call=check"):
        result = pybuild("build", flag, "-t", "checked:1", str(context), check=False)
        assert result.returncode == 1, result.err  # buildx: findings make the check fail
        assert result.out == EXPECTED_CHECK.format(path=context / "Buildfile")
        assert result.err == ""
    assert not _exists(pybuild, "checked:1")


def test_check_without_findings_exits_zero(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", 'FROM busybox:latest AS build\nCMD ["echo", "hi"]\n')
    result = pybuild("build", "--check", str(context), check=False)
    assert (result.returncode, result.out) == (0, "Check complete, no warnings found.\n")


def test_check_skip_directive_and_build_arg(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "# check=skip=StageNameCasing,JSONArgsRecommended\n" + BUILDFILE)
    result = pybuild("build", "--check", str(context), check=False)
    assert result.returncode == 1
    assert "FromAsCasing" in result.out and "StageNameCasing" not in result.out
    assert "JSONArgsRecommended" not in result.out
    assert result.out.endswith("Check complete, 1 warning has been found!\n")
    # the build argument replaces the directive, as in BuildKit
    quiet = pybuild("build", "--check", "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=all", str(context))
    assert quiet.out == "Check complete, no warnings found.\n"


def test_check_error_true_is_an_error(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "# check=skip=all\n" + BUILDFILE)
    assert pybuild("build", "--check", str(context)).returncode == 0
    context = write_context(tmp_path / "ctx", "# check=error=true;skip=JSONArgsRecommended\n" + BUILDFILE)
    result = pybuild("build", "--check", str(context), check=False)
    assert result.returncode == 1
    assert (
        f"{context / 'Buildfile'}:2:24: error: lint violation found for rules: StageNameCasing, FromAsCasing"
        in (result.err)
    )


def test_build_prints_findings_as_warnings_and_builds(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest\nENV PATH=$PAHT:/opt/bin\nWORKDIR app\n")
    result = pybuild("build", "--progress=plain", "-t", "warned:1", str(context))
    buildfile = context / "Buildfile"
    assert (
        f"{buildfile}:2:10: warning: UndefinedVar: Usage of undefined variable '$PAHT' (did you mean $PATH?)\n"
        "  ENV PATH=$PAHT:/opt/bin\n"
        "           ^\n"
        "  Variables should be defined before their use (https://docs.docker.com/go/dockerfile/rule/undefined-var/)\n"
    ) in result.err
    assert f'{buildfile}:3:9: warning: WorkdirRelativePath: Relative workdir "app"' in result.err
    assert "2 warnings found\n" in result.err
    assert result.err.index("2 warnings found") < result.err.index("#1 [")  # before the first step
    assert _exists(pybuild, "warned:1")
    assert pybuild("build", "-q", str(context)).err == ""  # --quiet: errors only


def test_build_fails_before_running_when_checks_are_errors(pybuild, tmp_path: Path):
    text = "# check=error=true\nFROM busybox:latest\nRUN echo RAN-A-STEP\nMAINTAINER me\n"
    context = write_context(tmp_path / "ctx", text)
    result = pybuild("build", "--progress=plain", "-t", "failed:1", str(context), check=False)
    assert result.returncode == 1
    assert "RAN-A-STEP" not in result.err
    assert f"{context / 'Buildfile'}:4:1: warning: MaintainerDeprecated:" in result.err
    assert (
        f"{context / 'Buildfile'}:4:1: error: lint violation found for rules: MaintainerDeprecated"
        in result.err
    )
    assert not _exists(pybuild, "failed:1")


def test_copy_of_an_ignored_file(pybuild, tmp_path: Path):
    context = write_context(
        tmp_path / "ctx",
        "FROM busybox:latest\nCOPY notes.txt /\n",
        {".dockerignore": "*.txt\n", "notes.txt": "x"},
    )
    result = pybuild("build", "--check", str(context), check=False)
    assert (
        'CopyIgnoredFile: Attempting to Copy file "notes.txt" that is excluded by .dockerignore' in result.out
    )


def test_findings_come_before_a_planning_error(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM busybox:latest AS Bad\nCOPY --from=0 /a /b\n")
    result = pybuild("build", "--check", str(context), check=False)
    assert result.returncode == 2
    assert "StageNameCasing: Stage name 'Bad' should be lowercase" in result.out
    assert "error: COPY --from=0 refers to the stage it is in (bad)" in result.err


def test_other_call_functions_are_refused(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", BUILDFILE)
    result = pybuild("build", "--call=targets", str(context), check=False)
    assert result.returncode == 2
    assert "--call=targets is not supported" in result.err


def test_check_creates_no_store(pybuild, tmp_path: Path):
    context = write_context(tmp_path / "ctx", "FROM somewhere.example/app:1\nENV A=$MAYBE_FROM_THE_IMAGE\n")
    other = type(pybuild)(tmp_path / "no-store")
    result = other("build", "--check", str(context))
    assert "note: base image somewhere.example/app:1 is not in the store" in result.out
    assert result.out.endswith("Check complete, no warnings found.\n")
    assert not (tmp_path / "no-store").exists()


def test_base_images_in_the_store_are_looked_at(pybuild, busybox_dir: Path, tmp_path: Path):
    base = write_context(
        tmp_path / "base", 'FROM busybox:latest\nENV APP_HOME=/app\nSHELL ["/bin/ash", "-c"]\n'
    )
    pybuild("build", "-q", "-t", "envbase:1", str(base))
    context = write_context(tmp_path / "ctx", "FROM envbase:1\nWORKDIR $APP_HOME\nCMD run\nCOPY $APP_HOMEE /\n")
    result = pybuild("build", "--check", str(context), check=False)
    # its ENV defines APP_HOME (and suggests it), its SHELL makes CMD's shell form deliberate
    assert "UndefinedVar: Usage of undefined variable '$APP_HOMEE' (did you mean $APP_HOME?)" in result.out
    assert result.out.endswith("Check complete, 1 warning has been found!\n")

    host = pybuild("inspect", "busybox:latest").out
    other = "linux/arm64" if '"amd64"' in host else "linux/amd64"
    pybuild("import", "--platform", other, str(busybox_dir), "otherbase:1")
    context = write_context(tmp_path / "ctx2", "FROM otherbase:1\n")
    result = pybuild("build", "--check", str(context), check=False)
    assert f'InvalidBaseImagePlatform: Base image otherbase:1 was pulled with platform "{other}", expected' in (
        result.out
    )


def test_findings_above_a_syntax_error_are_reported(pybuild, tmp_path: Path):
    # BuildKit's testWarningsBeforeError: the instructions read before BADCMD still get their findings
    context = write_context(
        tmp_path / "ctx", "\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\n"
    )
    result = pybuild("build", "--check", str(context), check=False)
    assert result.returncode == 2
    found = [line.split(": ")[2] for line in result.out.splitlines() if ": warning: " in line]
    assert found == ["StageNameCasing", "MaintainerDeprecated"]
    assert f"{context / 'Buildfile'}:4:1: error: unknown instruction: BADCMD" in result.err


def test_check_of_a_buildfile_on_stdin_without_a_context(pybuild):
    """``--check -`` reads the Dockerfile from standard input, as a build of ``-`` does."""
    result = pybuild("build", "--check", "-", input=b"FROM busybox:latest as base\n", check=False)
    assert result.returncode == 1, result.err
    assert "FromAsCasing: 'as' and 'FROM' keywords' casing do not match" in result.out


def test_check_knows_named_contexts(pybuild, tmp_path: Path):
    """``FROM NAME`` of a ``--build-context`` is no registry image: nothing to pull or to report."""
    context = write_context(tmp_path / "ctx", "FROM app\nRUN true\n")
    (tmp_path / "appdir").mkdir()
    result = pybuild(
        "build", "--check", "--build-context", f"app={tmp_path / 'appdir'}", str(context), check=False
    )
    assert result.returncode == 0, result.out + result.err
    assert "not in the store" not in result.out
    assert "Check complete, no warnings found." in result.out
