"""Selecting and resolving targets, as buildx v0.13's ``ReadTargets``.

A requested name is a group (expanded, recursively) or a target. Each target is resolved: its ``inherits``
merged first (depth first, in order), then its own definition, then the ``--set`` overrides for its name;
lists are de-duplicated, ``context`` defaults to ``.`` and ``dockerfile`` to ``Dockerfile``. Names requested
other than ``default`` are listed in the group ``default`` of the result, as buildx prints them. A target
named by another's ``target:NAME`` context is resolved too (without outputs: it only feeds the other).
"""

from __future__ import annotations

import copy
import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from builder.bake.model import Config, Group, Override, Target, apply_overrides
from builder.errors import UsageError

_LIST_OVERRIDES = {
    "output",
    "cache-to",
    "cache-from",
    "tags",
    "platform",
    "secrets",
    "ssh",
    "attest",
    "no-cache-filter",
    "ulimits",
    "annotations",
}


@dataclass
class Resolved:
    """The outcome: targets by name, the groups involved, and the names only built to feed ``target:``
    contexts (``linked``)."""

    targets: dict[str, Target]
    groups: dict[str, Group]
    linked: set[str] = field(default_factory=set)


def parse_overrides(
    config: Config, values: list[str], env: Mapping[str, str]
) -> dict[str, dict[str, Override]]:
    """``--set PATTERN.KEY[.NAME]=VALUE`` values → target name → key → `Override` (buildx's
    ``newOverrides``: PATTERN is a target name or a glob; list keys accumulate; ``args.NAME`` without a value
    takes the environment's)."""
    result: dict[str, dict[str, Override]] = {}
    for value in values:
        head, eq, text = value.partition("=")
        keys = head.split(".", 2)
        if len(keys) < 2:
            raise UsageError(f"invalid override key {head}, expected target.name")
        if not eq and keys[1] != "args":
            raise UsageError(f"invalid override {value}, expected target.name=value")
        if keys[1] in ("args", "contexts", "labels") and len(keys) != 3:
            raise UsageError(f"invalid key {head}, {keys[1]} requires name")
        key = head.split(".", 1)[1]
        for name in _expand(config, keys[0]):
            override = result.setdefault(name, {}).setdefault(key, Override())
            if keys[1] in _LIST_OVERRIDES:
                if eq:
                    override.values.append(text)
            elif not eq:  # args.NAME alone: from the environment, or nothing
                if keys[2] in env:
                    override.value = env[keys[2]]
                else:
                    del result[name][key]
            else:
                override.value = text
    return result


def _expand(config: Config, pattern: str) -> list[str]:
    names = [t.name for t in config.targets]
    if pattern in names:
        return [pattern]
    matched = [name for name in names if fnmatch.fnmatchcase(name, pattern)]
    if not matched:
        raise UsageError(f"could not find any target matching '{pattern}'")
    return matched


def _group_members(config: Config, name: str, visiting: set[str]) -> tuple[list[str], list[str]]:
    group = next((g for g in config.groups if g.name == name), None)
    if group is None:
        return [name], []
    if name in visiting:
        return [], []
    visiting.add(name)
    targets, groups = [], [name]
    for member in group.targets:
        t, g = _group_members(config, member, visiting)
        targets.extend(t)
        groups.extend(g)
    return targets, groups


def resolve_target(config: Config, name: str, overrides: dict[str, dict[str, Override]]) -> Target:
    """Target ``name`` with its ``inherits`` and overrides applied (buildx's ``ResolveTarget``)."""
    target = _target(config, name, {}, overrides)
    target.inherits = None
    if target.context is None:
        target.context = "."
    if target.dockerfile is None:
        target.dockerfile = "Dockerfile"
    return target


def _target(config: Config, name: str, visited: dict, overrides) -> Target | None:
    if name in visited:
        return visited[name]
    visited[name] = None  # an inherits cycle contributes nothing, as in buildx
    definition = next((t for t in config.targets if t.name == name), None)
    if definition is None:
        raise UsageError(f"failed to find target {name}")
    inherited = Target(name)
    for parent in definition.inherits or []:
        resolved = _target(config, parent, visited, overrides)
        if resolved is not None:
            inherited.merge(resolved)
    result = Target(name, span=definition.span)
    result.merge(inherited)
    result.merge(copy.deepcopy(definition))
    result.span = definition.span
    apply_overrides(result, overrides.get(name, {}))
    result.normalize()
    visited[name] = result
    return result


def read_targets(
    config: Config, requested: list[str], set_values: list[str], env: Mapping[str, str] | None = None
) -> Resolved:
    """The targets and groups of ``requested`` (``["default"]`` when empty) with ``--set`` applied."""
    env = os.environ if env is None else env
    requested = list(requested) or ["default"]
    overrides = parse_overrides(config, set_values, env)
    targets: dict[str, Target] = {}
    groups: dict[str, Group] = {}
    for name in requested:
        members, group_names = _group_members(config, name, set())
        for member in dict.fromkeys(members):
            targets[member] = resolve_target(config, member, overrides)
        for group_name in dict.fromkeys(group_names):
            group = next(g for g in config.groups if g.name == group_name)
            groups[group_name] = Group(group.name, list(group.targets), group.span)
    for name in requested:
        if name == "default":
            continue
        default = groups.setdefault("default", Group("default"))
        default.targets.append(name)
    if "default" in groups:
        groups["default"].targets = list(dict.fromkeys(groups["default"].targets))
    resolved = Resolved(targets, groups)
    for name in list(targets):
        _links(config, name, targets[name], resolved, overrides, [])
    return resolved


def linked_name(value: str) -> str | None:
    """The target a ``target:NAME`` context names, else None."""
    return value.removeprefix("target:") if value.startswith("target:") else None


def _links(
    config: Config, name: str, target: Target, resolved: Resolved, overrides, visited: list[str]
) -> None:
    visited = [*visited, name]
    for value in (target.contexts or {}).values():
        other = linked_name(value)
        if other is None:
            continue
        if other == target.name:
            raise UsageError(f"target {other} cannot link to itself")
        if other in visited:
            raise UsageError(f"infinite loop from {name} to {other}")
        linked = resolved.targets.get(other)
        if linked is None:
            linked = resolve_target(config, other, overrides)
            linked.output = None
            resolved.targets[other] = linked
            resolved.linked.add(other)
        _links(config, other, linked, resolved, overrides, visited)
        if (
            len(target.platforms or []) > 1
            and len(linked.platforms or []) > 1
            and target.platforms != linked.platforms
        ):
            raise UsageError(
                f"target {other} can't be used by {name} because it is defined for different platforms "
                f"{linked.platforms} and {target.platforms}"
            )
