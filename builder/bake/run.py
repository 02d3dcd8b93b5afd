"""The execution of a bake: every requested target built, each fed the targets its ``target:`` contexts name.

`build_many` is the one call the command makes. For now it builds the targets one after another with
`builder.executor.build`, each target after the targets it links to; a solver that takes all targets as one
graph replaces its body, keeping its contract.
"""

from __future__ import annotations

import dataclasses

from builder.bake.options import TargetError, TargetLink
from builder.buildtypes import BuildOptions, BuildResult
from builder.errors import BuildError, UsageError


def build_order(requests: list[tuple[str, BuildOptions]]) -> list[tuple[str, BuildOptions]]:
    """``requests`` ordered so that every target comes after the targets its `TargetLink` contexts name
    (otherwise in the given order). Raises `UsageError` for a link to a target that is not requested, or a
    cycle."""
    by_name = dict(requests)
    ordered: list[tuple[str, BuildOptions]] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            raise UsageError(f"infinite loop from {chain[-1]} to {name}")
        if name not in by_name:
            raise UsageError(f'target "{chain[-1]}": its context target:{name} names no target of this bake')
        state[name] = "active"
        for link in links(by_name[name]):
            visit(link.target, [*chain, name])
        state[name] = "done"
        ordered.append((name, by_name[name]))

    for name, _ in requests:
        visit(name, [name])
    return ordered


def links(options: BuildOptions) -> list[TargetLink]:
    """The ``target:`` contexts of one request."""
    return [value for value in options.named_contexts.values() if isinstance(value, TargetLink)]


def with_linked_images(options: BuildOptions, results: dict[str, BuildResult]) -> BuildOptions:
    """``options`` with each `TargetLink` replaced by an image context: the linked target's image, by the
    digest it has in the store (read from the store, never pulled, as `builder.namedcontexts` treats one)."""
    from builder.namedcontexts import NamedContext

    named = dict(options.named_contexts)
    for name, value in named.items():
        if isinstance(value, TargetLink):
            named[name] = NamedContext(name, image=results[value.target].manifest_digest)
    return dataclasses.replace(options, named_contexts=named)


def build_many(requests: list[tuple[str, BuildOptions]], reporter) -> dict[str, BuildResult]:
    """Build every ``(target name, options)`` request and return each target's result by name.

    A request's ``named_contexts`` may hold `TargetLink` values: the linked target (which must be among the
    requests) is built first and its image fed in as an image context. The first target that fails stops
    the build: its error is raised as a `TargetError` naming it. ``reporter`` (`builder.ui.Reporter`)
    receives every target's steps; a line ``[TARGET] building`` precedes each target's.
    """
    from builder.executor import build

    results: dict[str, BuildResult] = {}
    for name, options in build_order(requests):
        reporter.info(f"[{name}] building")
        try:
            results[name] = build(with_linked_images(options, results), reporter)
        except TargetError:
            raise
        except BuildError as error:
            raise TargetError(name, error) from None
    return results
