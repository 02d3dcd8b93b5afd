"""The execution of a bake: every requested target built, each fed the targets its ``target:`` contexts name.

`build_many` is the one call the command makes. The targets are solved as one graph
(`builder.executor.build_requests`): a stage several targets share runs once, independent targets build at
the same time. A target whose ``target:`` context names another target needs that one's image first: such
targets are solved in a later round, once the targets they link to are built.
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
    requests) is built in an earlier round and its image fed in as an image context. The first target that
    fails stops the build: its error is raised as a `TargetError` naming it. ``reporter``
    (`builder.ui.Reporter`) receives every target's steps.
    """
    from builder.executor import build_requests

    def name_failure(name: str, error: BuildError) -> BuildError:
        return error if isinstance(error, TargetError) else TargetError(name, error)

    results: dict[str, BuildResult] = {}
    for round_ in rounds(build_order(requests)):
        ready = [(name, with_linked_images(options, results)) for name, options in round_]
        results.update(build_requests(ready, reporter, name_failure=name_failure))
    return results


def rounds(ordered: list[tuple[str, BuildOptions]]) -> list[list[tuple[str, BuildOptions]]]:
    """``ordered`` (as `build_order` gives it) in rounds: each target one round after the latest of the
    targets it links to, so every round is one solve of targets whose inputs are built."""
    depth: dict[str, int] = {}
    grouped: dict[int, list[tuple[str, BuildOptions]]] = {}
    for name, options in ordered:
        depth[name] = 1 + max((depth[link.target] for link in links(options)), default=-1)
        grouped.setdefault(depth[name], []).append((name, options))
    return [grouped[level] for level in sorted(grouped)]
