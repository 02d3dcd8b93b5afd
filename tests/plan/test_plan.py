"""The stage plan built from AST nodes: scoping, FROM resolution, the stage graph, target and errors."""

from __future__ import annotations

import pytest

from builder.errors import BuildError, PlanError
from builder.plan import Platform, Resolver, SourceKind, plan
from tests.plan.nodes import ARG, COPY, ENV, FROM, RUN, WORKDIR, buildfile

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")


def args_of(the_plan, index: int) -> list[list[str]]:
    return [list(step.resolved.args) for step in Resolver(the_plan).steps(the_plan.stages[index])]


def test_global_arg_is_used_in_from_but_invisible_in_the_stage_until_redeclared():
    bf = buildfile(ARG(1, "V=3.19"), FROM(2, "alpine:$V"), WORKDIR(3, "/a$V"), ARG(4, "V"), WORKDIR(5, "/b$V"))
    p = plan(bf, platform=AMD64)
    assert p.stages[0].base.ref == "alpine:3.19"
    assert p.stages[0].base.written == "alpine:$V"
    assert args_of(p, 0)[1:] == [["/a"], ["V=3.19"], ["/b3.19"]]


def test_build_arg_overrides_global_and_stage_defaults():
    bf = buildfile(ARG(1, "V=1"), FROM(2, "alpine:$V"), ARG(3, "V", "W=default"), WORKDIR(4, "/$V/$W"))
    p = plan(bf, build_args={"V": "2", "W": "given"}, platform=AMD64)
    assert p.stages[0].base.ref == "alpine:2"
    assert p.global_args == {"V": "2"}
    assert args_of(p, 0)[-1] == ["/2/given"]


def test_later_env_overrides_arg_and_later_arg_overrides_env():
    bf = buildfile(FROM(1, "scratch"), ARG(2, "X=arg"), ENV(3, "X=env"), WORKDIR(4, "/$X"), ARG(5, "X=again"))
    bf = buildfile(*bf.instructions, WORKDIR(6, "/$X"))
    assert [a for a in args_of(plan(bf, platform=AMD64), 0) if a[0].startswith("/")] == [["/env"], ["/again"]]


def test_predefined_platform_args_in_from_and_only_when_declared_in_a_stage():
    bf = buildfile(
        FROM(1, "alpine", platform="$BUILDPLATFORM"), WORKDIR(2, "/x$TARGETARCH"), ARG(3, "TARGETARCH"),
        WORKDIR(4, "/$TARGETARCH"),
    )  # fmt: skip
    p = plan(bf, platform=ARM64, build_platform=AMD64)
    assert p.stages[0].platform == AMD64
    assert args_of(p, 0)[1] == ["/x"] and args_of(p, 0)[3] == ["/arm64"]


def test_stage_inherits_env_args_and_platform_of_its_base_stage():
    bf = buildfile(
        FROM(1, "alpine", "base", platform="linux/arm64"), ARG(2, "A=1"), ENV(3, "E=2"),
        FROM(4, "base", "child"), WORKDIR(5, "/$A/$E"),
    )  # fmt: skip
    p = plan(bf, platform=AMD64)
    child = p.stages[1]
    assert child.base.kind is SourceKind.STAGE and child.base.stage == 0
    assert child.platform == ARM64
    assert args_of(p, 1)[-1] == ["/1/2"]


def test_scratch_starts_with_default_path():
    p = plan(buildfile(FROM(1, "scratch"), WORKDIR(2, "$PATH")), platform=AMD64)
    assert args_of(p, 0)[-1] == ["/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def test_image_env_unknown_at_plan_time_is_reported_and_given_later():
    bf = buildfile(FROM(1, "alpine"), ENV(2, "MINE=1"), WORKDIR(3, "$HOME/$MINE"))
    p = plan(bf, platform=AMD64)
    step = list(Resolver(p).steps(p.stages[0]))[-1]
    assert step.resolved.args == ("/1",) and step.resolved.unresolved == ("HOME",)
    step = list(Resolver(p).steps(p.stages[0], {"HOME": "/root"}))[-1]
    assert step.resolved.args == ("/root/1",) and step.resolved.unresolved == ()


def test_target_and_needed_stages_follow_from_copy_from_and_mounts():
    bf = buildfile(
        FROM(1, "alpine", "a"), FROM(2, "alpine", "b"), FROM(3, "alpine", "unused"),
        FROM(4, "a", "c"), COPY(5, "/x", "/x", **{"from": "1"}),
        RUN(6, "true", mounts=("type=bind,from=unused2,target=/m",)),
        FROM(7, "alpine", "unused2"),
    )  # fmt: skip
    p = plan(bf, target="C", platform=AMD64)
    assert p.target == 3
    assert [s.needed for s in p.stages] == [True, True, False, True, True]
    assert p.stages[3].stage_deps == (0, 1, 4)
    assert [s.index for s in p.build_order()] == [0, 1, 4, 3]


def test_copy_from_image_and_scratch_are_not_stages():
    bf = buildfile(FROM(1, "alpine"), COPY(2, "/a", "/a", **{"from": "busybox:1.36"}))
    dep = plan(bf, platform=AMD64).stages[0].deps[0]
    assert dep.kind is SourceKind.IMAGE and dep.ref == "busybox:1.36"


@pytest.mark.parametrize(
    ("instructions", "message", "line", "column"),
    [
        ((RUN(1, "x"), FROM(2, "a")), "RUN before the first FROM", 1, 1),
        ((FROM(1, "a", "1x"),), "invalid name for build stage: '1x'", 1, 11),
        ((FROM(1, "a"), COPY(2, "/a", "/b", **{"from": "0"})), "refers to the stage it is in", 2, 6),
        ((FROM(1, "a"), COPY(2, "/a", "/b", **{"from": "3"})), "invalid stage index 3", 2, 6),
        ((FROM(1, "a"), COPY(2, "/a", "/b", **{"from": "Nope"})), "not a valid image reference", 2, 6),
        ((FROM(1, "a", "x"), COPY(2, "/a", "/b", **{"from": "y"}), FROM(3, "x", "y")), "x -> y -> x", 2, 6),
        ((ARG(1, "E="), FROM(2, "$E")), "base name ($E) should not be blank", 2, 6),
        ((FROM(1, "Upper"),), "FROM Upper: not an earlier stage's name", 1, 6),
        ((FROM(1, "a", platform="nope/x"),), "failed to parse platform", 1, 6),
        ((ARG(1, "B"), FROM(2, "${B:?need B}")), "need B", 2, 6),
        ((ARG(1, "X=1"),), "no FROM instruction", 1, 1),
        ((FROM(1, "a", "s"), RUN(2, "x", mounts=("from=S,target=/m",))), "refers to the stage it is in", 2, 5),
    ],
)
def test_plan_errors_are_located(instructions, message, line, column):
    with pytest.raises(BuildError) as caught:
        plan(buildfile(*instructions), platform=AMD64)
    assert message in caught.value.message
    assert (caught.value.span.line, caught.value.span.column) == (line, column)
    assert caught.value.exit_code == 2


def test_unknown_target_names_the_known_stages():
    with pytest.raises(PlanError) as caught:
        plan(buildfile(FROM(1, "a", "one")), target="two")
    assert "target stage 'two' could not be found" in caught.value.message
    assert caught.value.hint == "stage names: one"


def test_expansion_error_in_a_stage_points_at_the_reference():
    p = plan(buildfile(FROM(1, "alpine"), WORKDIR(2, "/a/${X:?is required}")), platform=AMD64)
    with pytest.raises(BuildError) as caught:
        list(Resolver(p).steps(p.stages[0]))
    assert "is required" in caught.value.message
    assert (caught.value.span.line, caught.value.span.column) == (2, 12)


def test_platform_parsing_normalises_like_containerd():
    assert str(Platform.parse("linux/x86_64")) == "linux/amd64"
    assert str(Platform.parse("linux/arm64/v8")) == "linux/arm64"
    assert str(Platform.parse("linux/arm")) == "linux/arm/v7"
    assert str(Platform.parse("arm64")) == "linux/arm64"
    with pytest.raises(PlanError):
        Platform.parse("linux/amd64/v2/x")


def test_skipped_stages_are_kept_as_written_even_on_a_skipped_base():
    bf = buildfile(
        FROM(1, "alpine", "a"), WORKDIR(2, "${X:?}"), FROM(3, "a", "b"), WORKDIR(4, "$Y"), FROM(5, "alpine")
    )  # fmt: skip
    p = plan(bf, platform=AMD64)
    assert [s.needed for s in p.stages] == [False, False, True]
    steps = list(Resolver(p).steps(p.stages[1], expand=False))
    assert steps[-1].resolved.args == ("$Y",) and not steps[-1].resolved.expanded
