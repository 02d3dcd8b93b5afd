"""The bake definition: targets and groups, merged, inherited and overridden as buildx v0.13 does it, and
printed as ``docker buildx bake --print`` prints it.

`Target` keeps buildx's fields in its order (the ``--print`` key order) and its notion of "unset" (None), so
that merging (`Target.merge`: later files, ``inherits``) and ``--set`` (`apply_overrides`) behave the same.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, fields

from builder.errors import Span, UsageError

#: HCL/JSON attribute name → `Target` field, in buildx's order (which is also ``--print``'s)
KEYS: dict[str, str] = {
    "inherits": "inherits",
    "annotations": "annotations",
    "attest": "attest",
    "context": "context",
    "contexts": "contexts",
    "dockerfile": "dockerfile",
    "dockerfile-inline": "dockerfile_inline",
    "args": "args",
    "labels": "labels",
    "tags": "tags",
    "cache-from": "cache_from",
    "cache-to": "cache_to",
    "target": "target",
    "secret": "secret",
    "ssh": "ssh",
    "platforms": "platforms",
    "output": "output",
    "pull": "pull",
    "no-cache": "no_cache",
    "no-cache-filter": "no_cache_filter",
    "shm-size": "shm_size",
    "ulimits": "ulimits",
}
STRING_KEYS = {"context", "dockerfile", "dockerfile-inline", "target", "shm-size"}
BOOL_KEYS = {"pull", "no-cache"}
MAP_KEYS = {"args", "labels", "contexts"}
#: the list keys; those whose values accumulate when merged (the others replace)
LIST_KEYS = {
    "inherits",
    "annotations",
    "attest",
    "tags",
    "cache-from",
    "cache-to",
    "secret",
    "ssh",
    "platforms",
    "output",
    "no-cache-filter",
    "ulimits",
}
MERGED_LISTS = {
    "annotations",
    "attest",
    "secret",
    "ssh",
    "cache-from",
    "no-cache-filter",
    "ulimits",
    "inherits",
}


@dataclass
class Target:
    """One target. None means "not set" (so a later definition or ``inherits`` may set it). ``network`` comes
    only from compose's ``build.network`` and is not printed, as in buildx; ``span`` locates the definition."""

    name: str
    inherits: list[str] | None = None
    annotations: list[str] | None = None
    attest: list[str] | None = None
    context: str | None = None
    contexts: dict[str, str] | None = None
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: dict[str, str | None] | None = None
    labels: dict[str, str | None] | None = None
    tags: list[str] | None = None
    cache_from: list[str] | None = None
    cache_to: list[str] | None = None
    target: str | None = None
    secret: list[str] | None = None
    ssh: list[str] | None = None
    platforms: list[str] | None = None
    output: list[str] | None = None
    pull: bool | None = None
    no_cache: bool | None = None
    no_cache_filter: list[str] | None = None
    shm_size: str | None = None
    ulimits: list[str] | None = None
    network: str | None = None
    span: Span | None = field(default=None, compare=False)

    def merge(self, other: Target) -> None:
        """Lay ``other`` over this target, as buildx's ``Target.Merge``: scalars and replacing lists are taken
        when set, maps merged key by key (a null arg or label does not override), merging lists appended."""
        for key, name in KEYS.items():
            theirs = getattr(other, name)
            if theirs is None:
                continue
            if key in MAP_KEYS:
                mine = dict(getattr(self, name) or {})
                for k, v in theirs.items():
                    if v is None and key != "contexts":
                        continue
                    mine[k] = v
                setattr(self, name, mine)
            elif key in MERGED_LISTS:
                setattr(self, name, list(getattr(self, name) or []) + list(theirs))
            else:
                setattr(self, name, copy.copy(theirs))
        if other.network is not None:
            self.network = other.network
        if self.span is None:
            self.span = other.span

    def normalize(self) -> None:
        """buildx's ``normalize``: lists without duplicates, empty contexts dropped."""
        for key, name in KEYS.items():
            values = getattr(self, name)
            if key in LIST_KEYS and key != "inherits" and values is not None:
                setattr(self, name, list(dict.fromkeys(values)))
        if self.contexts is not None:
            self.contexts = {k: v for k, v in self.contexts.items() if v != ""} or None

    def to_json(self) -> dict:
        """The target as ``--print`` shows it: set, non-empty fields in buildx's order."""
        result = {}
        for key, name in KEYS.items():
            value = getattr(self, name)
            # Go's omitempty: nil pointers and empty maps and slices are left out; "" and false are not
            if value is None or (isinstance(value, list | dict) and not value):
                continue
            result[key] = dict(sorted(value.items())) if isinstance(value, dict) else value
        return result


@dataclass
class Group:
    name: str
    targets: list[str] = field(default_factory=list)
    span: Span | None = None


@dataclass
class Config:
    """Groups and targets in definition order (same names merged)."""

    groups: list[Group] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def add_target(self, target: Target) -> None:
        for existing in self.targets:
            if existing.name == target.name:
                existing.merge(target)
                return
        self.targets.append(target)

    def add_group(self, group: Group) -> None:
        for existing in self.groups:
            if existing.name == group.name:
                existing.targets.extend(t for t in group.targets if t not in existing.targets)
                return
        self.groups.append(Group(group.name, list(dict.fromkeys(group.targets)), group.span))

    def merge(self, other: Config) -> None:
        for group in other.groups:
            self.add_group(group)
        for target in other.targets:
            self.add_target(target)


@dataclass
class Override:
    value: str | None = None
    values: list[str] = field(default_factory=list)


def parse_bool(value: str, key: str) -> bool:
    """Go's ``strconv.ParseBool``."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise UsageError(f"invalid value {value} for boolean key {key}")


def apply_overrides(target: Target, overrides: dict[str, Override]) -> None:
    """``--set`` values for this target (key without the target pattern → `Override`), as buildx's
    ``AddOverrides``; an unknown key is refused."""
    for key, override in overrides.items():
        head, _, sub = key.partition(".")
        value = override.value
        if head in ("args", "labels", "contexts"):
            if not sub:
                raise UsageError(f"{head} require name")
            mapping = dict(getattr(target, head) or {})
            mapping[sub] = value
            setattr(target, head, mapping)
        elif head in ("context", "dockerfile", "target", "shm-size"):
            setattr(target, KEYS[head], value)
        elif head in (
            "tags",
            "cache-from",
            "cache-to",
            "secrets",
            "ssh",
            "platform",
            "output",
            "no-cache-filter",
            "ulimits",
        ):
            name = {"secrets": "secret", "platform": "platforms"}.get(head, head)
            setattr(target, KEYS[name], list(override.values))
        elif head in ("annotations", "attest"):
            setattr(target, head, list(getattr(target, head) or []) + override.values)
        elif head in ("no-cache", "pull"):
            setattr(target, KEYS[head], parse_bool(value or "", head))
        elif head == "push":
            parse_bool(value or "", "push")
            if not target.output:
                target.output = ["type=image,push=true"]
            else:
                target.output = [
                    f"{o},push={value}" if _output_type(o) in ("image", "registry") else o
                    for o in target.output
                ]
        else:
            raise UsageError(f"unknown key: {head}")


def _output_type(output: str) -> str:
    for part in output.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "type":
            return value.strip()
    return ""


def print_json(groups: dict[str, Group], targets: dict[str, Target]) -> str:
    """``docker buildx bake --print``'s JSON: Go's ``json.MarshalIndent`` of ``{"group":…, "target":…}``
    (maps by sorted key, two-space indent, ``<``, ``>``, ``&`` escaped as Go escapes them)."""
    document: dict = {}
    if groups:
        document["group"] = {name: {"targets": groups[name].targets} for name in sorted(groups)}
    document["target"] = {name: targets[name].to_json() for name in sorted(targets)}
    text = json.dumps(document, indent=2, ensure_ascii=False)
    for char, escape in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


__all__ = ["Config", "Group", "Override", "Target", "apply_overrides", "fields", "print_json"]
