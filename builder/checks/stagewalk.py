"""Rules that follow each stage as the build would run it, knowing what the stage has set so far:
UndefinedVar, WorkdirRelativePath, JSONArgsRecommended, MultipleInstructionsDisallowed, LegacyKeyValueFormat,
SecretsUsedInArgOrEnv, CopyIgnoredFile and InvalidBaseImagePlatform.

A stage starts from its base: a stage it is built on hands down its environment, SHELL, declared ARGs and
whether a WORKDIR was set; ``scratch`` starts with PATH only; an image with its config, when the store has
it. When the image's config is not known, references to variables the image might define are not judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from builder.checks.casing import written_words
from builder.checks.ignored import copy_ignored
from builder.checks.model import CheckInput, Finding, at_word
from builder.checks.suggest import closest
from builder.errors import BuildError
from builder.expand import expand_word_with_matches
from builder.plan import DEFAULT_PATH, Plan, Resolver, SourceKind, Stage
from builder.syntax import ast

_SECRET = re.compile(
    r"(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)"
)
_NOT_SECRET = re.compile(r"(?i)(?:_|^)(?:public|file|version)(?:_|$)")
#: Build arguments BuildKit reads itself; they never reach the environment, and naming them is no mistake.
_NON_ENV_ARGS = frozenset({"BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"})
_USED_ONCE = ("CMD", "ENTRYPOINT", "HEALTHCHECK")


@dataclass
class _State:
    """What a stage has set so far; a stage built on it starts from a copy."""

    env: dict[str, str] = field(default_factory=dict)
    env_known: bool = True
    shell: tuple[str, ...] = ()
    declared: set[str] = field(default_factory=set)
    workdir_set: bool = False

    def copy(self) -> _State:
        return _State(dict(self.env), self.env_known, self.shell, set(self.declared), self.workdir_set)


def stage_rules(check: CheckInput) -> Iterator[Finding]:
    plan = check.plan
    if not isinstance(plan, Plan):
        return
    resolver = Resolver(plan)
    finals: dict[int, _State] = {}
    for stage in plan.stages:  # file order: a stage's base stage always comes first
        state, base_findings = _start(check, stage, finals)
        checked = check.all_stages or stage.needed
        if checked:
            yield from base_findings
        walk = _walk(check, plan, resolver, stage, state)
        for finding in walk:
            if checked:
                yield finding
        finals[stage.index] = state


def _start(check: CheckInput, stage: Stage, finals: dict[int, _State]) -> tuple[_State, list[Finding]]:
    if stage.base.kind is SourceKind.STAGE:
        return finals[stage.base.stage or 0].copy(), []
    if stage.base.kind is SourceKind.SCRATCH:
        return _State(env={"PATH": DEFAULT_PATH}), []
    image = check.base_image(stage.base.ref, stage.platform)
    if image is None:
        return _State(env_known=False), []
    env = dict(image.env)
    env.setdefault("PATH", DEFAULT_PATH)
    findings = []
    wanted, actual = stage.platform, image.platform
    if (wanted.os, wanted.architecture) != (actual.os, actual.architecture):
        span = at_word(stage.source, stage.source.image)
        findings.append(Finding.of("InvalidBaseImagePlatform", span, stage.base.ref, str(wanted), str(actual)))
    return _State(env=env, shell=tuple(image.shell)), findings


def _walk(check: CheckInput, plan: Plan, resolver: Resolver, stage: Stage, state: _State) -> Iterator[Finding]:
    """The findings of ``stage``'s instructions, updating ``state`` as the build would."""
    last: dict[str, ast.Instruction] = {}
    for ins in stage.instructions:
        keyword = written_words(ins)[0]
        if isinstance(ins, ast.Arg):
            yield from _arg(check, plan, ins, state)
            continue
        try:
            resolved = resolver.resolve(ins, state.env, record=True)
        except BuildError:
            return  # the build stops here with this error
        if state.env_known and not isinstance(ins, ast.Expose):
            yield from _undefined(ins, resolved.unresolved, state)
        if ins.keyword in _USED_ONCE:
            if ins.keyword in last:
                yield Finding.of("MultipleInstructionsDisallowed", last[ins.keyword].span, keyword)
            last[ins.keyword] = ins
        match ins:
            case ast.Cmd(command=command) | ast.Entrypoint(command=command):
                if not command.exec_form and not state.shell:
                    yield Finding.of("JSONArgsRecommended", ins.span, keyword)
            case ast.Env(pairs=pairs):
                yield from _legacy_form(check, ins, keyword)
                for pair in pairs:
                    yield from _secret(ins, "ENV", pair.key)
            case ast.Label():
                yield from _legacy_form(check, ins, keyword)
            case ast.Workdir():
                path = resolved.args[0] if resolved.args else ins.path
                if not state.workdir_set and not path.startswith("/"):
                    yield Finding.of("WorkdirRelativePath", at_word(ins, ins.path, last=True), path)
                state.workdir_set = True
            case ast.Shell(shell=shell):
                state.shell = shell
            case ast.CopyLike():
                yield from copy_ignored(check, ins, resolved)
        state.env.update(resolved.sets)


def _arg(check: CheckInput, plan: Plan, ins: ast.Arg, state: _State) -> Iterator[Finding]:
    """ARG, one name at a time: each default is expanded (unless a build argument replaces it) with what
    the names before it set."""
    for decl in ins.args:
        yield from _secret(ins, "ARG", decl.name)
        value = None
        if decl.name in plan.build_args:
            value = plan.build_args[decl.name]
        elif decl.default is not None:
            try:
                value, _, unmatched = expand_word_with_matches(decl.default, state.env, check.buildfile.escape)
            except BuildError:
                return
            if state.env_known:
                yield from _undefined(ins, tuple(unmatched), state)
        else:
            value = plan.global_scope.get(decl.name)
        state.declared.add(decl.name)
        if value is not None:
            state.env[decl.name] = value


def _undefined(ins: ast.Instruction, names, state: _State) -> Iterator[Finding]:
    for name in names:
        if name in state.declared or name in _NON_ENV_ARGS:
            continue
        span = at_word(ins, "${" + name)
        if span is ins.span:
            span = at_word(ins, "$" + name)
        yield Finding.of("UndefinedVar", span, name, closest(name, state.env))


def _secret(ins: ast.Instruction, keyword: str, key: str) -> Iterator[Finding]:
    if _SECRET.search(key) and not _NOT_SECRET.search(key):
        yield Finding.of("SecretsUsedInArgOrEnv", at_word(ins, key), keyword, key)


def _legacy_form(check: CheckInput, ins: ast.Env | ast.Label, keyword: str) -> Iterator[Finding]:
    """``ENV key value`` / ``LABEL key value``: the one key, as written, is followed by a blank, not ``=``."""
    if len(ins.pairs) != 1:
        return
    parts = ins.original.split(None, 1)
    rest, key = (parts[1] if len(parts) > 1 else ""), ins.pairs[0].key
    if rest.startswith(key) and rest[len(key) : len(key) + 1] != "=":
        yield Finding.of("LegacyKeyValueFormat", ins.span, keyword)
