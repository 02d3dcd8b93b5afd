"""Every build check on parsed Buildfiles, without root: BuildKit's own cases (``buildkit_cases``) and, per
rule, a case that fires and one that does not."""

from __future__ import annotations

import pytest

from builder.checks import RULES, BaseImage, CheckInput, enabled_findings, options_for, run_checks
from builder.context.ignore import IgnoreRules, read_ignore_file
from builder.errors import BuildError
from builder.plan import plan
from builder.platforms import Platform
from builder.syntax import parse
from tests.checks.buildkit_cases import CASES

AMD64 = Platform("linux", "amd64")


def findings(text: str, *, build_args=None, ignore=None, images=None, platform=None, all_stages=True):
    """``(rule, message, line)`` of the enabled findings, ordered by line then message."""
    buildfile = parse(text, "Dockerfile")
    build_args = dict(build_args or {})
    target = Platform.parse(platform) if platform else AMD64
    try:
        the_plan = plan(buildfile, build_args=build_args, platform=target, build_platform=AMD64)
    except BuildError:
        the_plan = None
    known = {
        ref: BaseImage(env, shell, Platform.parse(where)) for ref, (env, shell, where) in (images or {}).items()
    }
    check = CheckInput(
        buildfile,
        tuple(text.splitlines()),
        build_args=build_args,
        platform=target,
        build_platform=AMD64,
        plan=the_plan,
        all_stages=all_stages,
        base_image=lambda ref, wanted: known.get(ref),
        ignore=IgnoreRules(read_ignore_file(ignore)) if ignore is not None else None,
    )
    found = enabled_findings(run_checks(check), options_for(buildfile, build_args), check)
    return sorted((f.rule.name, f.message, f.span.line) for f in found)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_buildkit_case(case):
    got = findings(
        case["dockerfile"],
        build_args=case.get("build_args"),
        ignore=case.get("ignore"),
        images=case.get("images"),
        platform=case.get("platform"),
        all_stages=case.get("all_stages", True),
    )
    assert got == sorted(case["warnings"])


def test_buildkit_cases_cover_every_rule():
    assert {rule for case in CASES for rule, _, _ in case["warnings"]} == set(RULES)


def test_a_check_comment_skips_for_its_instruction_only():
    text = "FROM scratch\n# check=skip=all\nENV API_TOKEN=1\nENV DB_PASSWORD=2\n"
    assert findings(text) == [
        (
            "SecretsUsedInArgOrEnv",
            'Do not use ARG or ENV instructions for sensitive data (ENV "DB_PASSWORD")',
            4,
        )
    ]


def test_a_bare_hash_ends_the_comment_block():
    text = "FROM scratch\n# check=skip=MaintainerDeprecated\n#\nMAINTAINER me\n"
    assert [name for name, _, _ in findings(text)] == ["MaintainerDeprecated"]


# ---- one test per rule: a Buildfile that trips it, one that does not (pybuild's own cases) ------------
RULE_CASES = {
    "StageNameCasing": ("FROM scratch AS Build\n", "FROM scratch AS build\n"),
    "FromAsCasing": ("from scratch AS build\n", "from scratch as build\n"),
    "NoEmptyContinuation": ("FROM scratch\nRUN echo a \\\n\n  b\n", "FROM scratch\nRUN echo a \\\n  b\n"),
    "ConsistentInstructionCasing": ("FROM scratch\nrun true\nRUN true\nRUN true\n", "from scratch\nrun true\n"),
    "DuplicateStageName": ("FROM scratch AS a\nFROM scratch AS A\n", "FROM scratch AS a\nFROM a AS b\n"),
    "ReservedStageName": ("FROM scratch AS context\n", "FROM scratch AS contexts\n"),
    "JSONArgsRecommended": ("FROM scratch\nENTRYPOINT run.sh\n", 'FROM scratch\nENTRYPOINT ["run.sh"]\n'),
    "MaintainerDeprecated": ("FROM scratch\nMAINTAINER a@b.c\n", 'FROM scratch\nLABEL maintainer="a@b.c"\n'),
    "UndefinedArgInFrom": ("FROM scratch$SUFFIX\n", "ARG SUFFIX\nFROM scratch$SUFFIX\n"),
    "WorkdirRelativePath": ("FROM scratch\nWORKDIR src\n", "FROM scratch\nWORKDIR /app\nWORKDIR src\n"),
    "UndefinedVar": ("FROM scratch\nENV A=$B\n", "FROM scratch\nARG B\nENV A=$B\n"),
    "MultipleInstructionsDisallowed": (
        'FROM scratch\nCMD ["a"]\nCMD ["b"]\n',
        'FROM scratch\nCMD ["a"]\nENTRYPOINT ["b"]\n',
    ),
    "LegacyKeyValueFormat": ("FROM scratch\nLABEL version 1\n", "FROM scratch\nLABEL version=1\n"),
    "InvalidDefaultArgInFrom": ("ARG TAG\nFROM busybox:$TAG\n", "ARG TAG=1\nFROM busybox:$TAG\n"),
    "FromPlatformFlagConstDisallowed": (
        "FROM --platform=linux/arm64 scratch\n",
        "FROM --platform=$BUILDPLATFORM scratch\n",
    ),
    "CopyIgnoredFile": ("FROM scratch\nCOPY secret.txt /\n", "FROM scratch\nCOPY public.txt /\n"),
    "SecretsUsedInArgOrEnv": ("FROM scratch\nENV GITHUB_TOKEN=x\n", "FROM scratch\nENV TOKENIZER=x\n"),
    "InvalidBaseImagePlatform": ("FROM arm\n", "FROM amd\n"),
    "RedundantTargetPlatform": (
        "FROM --platform=$TARGETPLATFORM scratch\n",
        "FROM --platform=$BUILDPLATFORM scratch\n",
    ),
}
IMAGES = {"arm": ({}, (), "linux/arm64"), "amd": ({}, (), "linux/amd64")}


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_rule_fires(rule):
    fires, _ = RULE_CASES[rule]
    got = findings(fires, ignore="secret.txt\n", images=IMAGES)
    assert rule in {name for name, _, _ in got}, got


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_rule_stays_quiet(rule):
    _, quiet = RULE_CASES[rule]
    got = findings(quiet, ignore="secret.txt\n", images=IMAGES)
    assert rule not in {name for name, _, _ in got}, got


def test_rule_cases_cover_every_rule():
    assert set(RULE_CASES) == set(RULES)


def test_finding_points_at_the_word():
    text = "FROM scratch AS base\nCOPY $missing /\n"
    buildfile = parse(text, "Buildfile")
    check = CheckInput(
        buildfile, tuple(text.splitlines()), plan=plan(buildfile, platform=AMD64), platform=AMD64
    )
    (finding,) = run_checks(check)
    assert (finding.span.line, finding.span.column) == (2, 6)
    assert finding.span.source_line == "COPY $missing /"


def test_unknown_base_image_leaves_its_variables_unjudged():
    # the store lacks the image: a variable it may define is not reported, a JSON form is still recommended
    got = findings("FROM somewhere/app\nRUN --mount=type=cache,target=$CACHE true\nCMD run\n")
    assert [name for name, _, _ in got] == ["JSONArgsRecommended"]


def test_check_options_are_read_as_buildkit_reads_them():
    from builder.checks import parse_options
    from builder.errors import UsageError

    options = parse_options(" skip = A, B ; error = true ")
    assert (options.skip, options.skip_all, options.error) == (frozenset({"A", "B"}), False, True)
    assert parse_options("skip=all").skip_all
    assert not parse_options("").error
    with pytest.raises(UsageError, match='invalid check option "bogus"'):
        parse_options("bogus")
    with pytest.raises(UsageError, match='invalid check option "warn"'):
        parse_options("warn=1")
    with pytest.raises(UsageError, match='failed to parse check option "error=maybe"'):
        parse_options("error=maybe")
