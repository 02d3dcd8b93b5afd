"""Rules about FROM lines and the global ARGs they see: UndefinedArgInFrom, InvalidDefaultArgInFrom,
RedundantTargetPlatform and FromPlatformFlagConstDisallowed.

FROM lines are expanded with the global scope only: the predefined platform ARGs and the ARGs before the
first FROM (their ``--build-arg`` value, else their default). These rules compute that scope themselves, so
they still run when planning the build fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from builder.checks.model import CheckInput, Finding, at_word
from builder.checks.suggest import closest
from builder.errors import BuildError
from builder.expand import expand_word_with_matches
from builder.platforms import Platform
from builder.syntax.ast import Arg, From


def _predefined(check: CheckInput, build_args: Mapping[str, str]) -> dict[str, str]:
    build = check.build_platform or Platform.host()
    target = check.platform or Platform.host()
    scope = {**build.build_args("BUILD"), **target.build_args("TARGET")}
    scope.update({k: v for k, v in build_args.items() if k in scope})
    return scope


def global_scope(check: CheckInput, build_args: Mapping[str, str]) -> tuple[dict[str, str], list[str]] | None:
    """(the scope FROM lines see, every global ARG name declared); None when a default cannot be expanded
    (the build reports that error itself)."""
    scope = _predefined(check, build_args)
    declared: list[str] = []
    for ins in check.buildfile.instructions:
        if isinstance(ins, From):
            break
        if not isinstance(ins, Arg):
            continue
        for decl in ins.args:
            declared.append(decl.name)
            if decl.name in build_args:
                scope[decl.name] = build_args[decl.name]
            elif decl.default is not None:
                try:
                    scope[decl.name] = expand_word_with_matches(decl.default, scope, check.buildfile.escape)[0]
                except BuildError:
                    return None
            else:
                scope.pop(decl.name, None)
    return scope, declared


def _expand(word: str, scope: Mapping[str, str], escape: str) -> tuple[str, set[str], set[str]] | None:
    try:
        return expand_word_with_matches(word, scope, escape)
    except BuildError:
        return None


def _froms(check: CheckInput) -> Iterator[From]:
    return (ins for ins in check.buildfile.instructions if isinstance(ins, From))


def from_args(check: CheckInput) -> Iterator[Finding]:
    """UndefinedArgInFrom, RedundantTargetPlatform and FromPlatformFlagConstDisallowed for every FROM."""
    found = global_scope(check, check.build_args)
    if found is None:
        return
    scope, declared = found
    known = list(dict.fromkeys([*declared, *scope]))
    escape = check.buildfile.escape
    for ins in _froms(check):
        image = _expand(ins.image, scope, escape)
        if image is not None:
            yield from _undeclared(ins, image[2], known, at_word(ins, ins.image, last=True))
        written = ins.flag("platform")
        if written is None:
            continue
        platform = _expand(written, scope, escape)
        if platform is None:
            continue
        result, matched, unmatched = platform
        span = at_word(ins, "--platform")
        yield from _undeclared(ins, unmatched, known, span)
        if matched == {"TARGETPLATFORM"} and not unmatched and result == scope.get("TARGETPLATFORM"):
            yield Finding.of("RedundantTargetPlatform", span, written)
        if not matched and not unmatched:
            yield from _constant_platform(ins, result, span)


def _undeclared(ins: From, unmatched: set[str], known: list[str], span) -> Iterator[Finding]:
    for name in sorted(unmatched):
        if name not in known:
            yield Finding.of("UndefinedArgInFrom", span, name, closest(name, known))


def _constant_platform(ins: From, text: str, span) -> Iterator[Finding]:
    try:
        platform = Platform.parse(text)
    except BuildError:
        return  # the build refuses the platform itself
    # a stage named for its platform (``AS build_amd64``) is meant to be pinned to it
    name = ins.stage_name or ""
    if platform.os in name or platform.architecture in name:
        return
    yield Finding.of("FromPlatformFlagConstDisallowed", span, text)


def invalid_default_arg_in_from(check: CheckInput) -> Iterator[Finding]:
    """A FROM whose image name, with every global ARG at its default (no ``--build-arg``), is not a valid
    reference: the Buildfile only builds when the right build arguments are given."""
    from builder.refs import parse_ref

    found = global_scope(check, {})
    if found is None:
        return
    scope, _ = found
    for ins in _froms(check):
        expanded = _expand(ins.image, scope, check.buildfile.escape)
        if expanded is None:
            return
        try:
            parse_ref(expanded[0])
        except BuildError:
            yield Finding.of("InvalidDefaultArgInFrom", at_word(ins, ins.image, last=True), ins.image)
