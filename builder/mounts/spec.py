"""``RUN --mount`` specs parsed as BuildKit's Dockerfile frontend parses them, with its error messages.

A spec is a comma-separated list of fields (the value was already split by commas and expanded by the
planner, ``from`` excepted). ``key=value`` fields are case-insensitive in the key; the bare fields
``ro``/``readonly``, ``rw``/``readwrite`` and (for secret and ssh) ``required`` need no value. The type must
come before a field that depends on it (``required``, ``size``), as in BuildKit, which reads the fields in
order. Defaults follow BuildKit: bind and secret and ssh mounts are read-only, cache and tmpfs read-write;
a cache's id is its target; a secret's id is the base name of its target, its target ``/run/secrets/<id>``;
an ssh mount's id is ``default``, its target ``/run/buildkit/ssh_agent.<n>`` (n counts the step's ssh mounts).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, replace

from builder.errors import PlanError

TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")
_KNOWN_KEYS = (
    "type", "from", "source", "target", "readonly", "id", "sharing", "required", "mode", "uid", "gid",
    "src", "dst", "ro", "rw", "readwrite", "size", "env", "destination",
)  # fmt: skip
#: Keys only some mount types take.
_TYPES_OF = {"required": ("secret", "ssh"), "size": ("tmpfs",)}
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_RAM = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_UINT32 = 2**32 - 1


class MountSpecError(PlanError):
    """A ``--mount`` value BuildKit would refuse; the message is BuildKit's."""


@dataclass(frozen=True)
class MountSpec:
    """One ``--mount`` as written (after expansion); see `resolve` for the defaults a step applies.

    ``mode``, ``uid`` and ``gid`` are None when not given; ``size`` is in bytes (0: no limit); ``env`` is
    the variable a secret is exposed as (None: not exposed as a variable).
    """

    type: str = "bind"
    target: str = ""
    source: str = ""
    from_: str = ""
    id: str = ""
    sharing: str = ""
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    readonly: bool = True
    required: bool = False
    size: int = 0
    env: str | None = None


def _bool(key: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise MountSpecError(f"invalid value for {key}: {value}")


def _uint(key: str, value: str, base: int) -> int:
    digits = "01234567" if base == 8 else "0123456789"
    if not value or any(c not in digits for c in value) or int(value, base) > _UINT32:
        raise MountSpecError(f"invalid value {value} for {key}")
    return int(value, base)


def ram_in_bytes(text: str) -> int:
    """A size such as ``64m``, ``1.5GiB`` or ``512`` in bytes, with binary multipliers (go-units)."""
    match = _RAM.match(text)
    if match is None:
        raise ValueError(text)
    number = float(match.group(1)) if match.group(1).count(".") <= 1 else None
    if number is None:
        raise ValueError(text)
    power = " kmgtp".index((match.group(2) or " ").lower())
    return int(number * 1024**power)


def parse_mount(value: str) -> MountSpec:
    """Parse one ``--mount`` value; raises `MountSpecError` with BuildKit's message."""
    fields: dict = {"type": "bind"}
    ro_auto = True
    for field in value.split(","):
        key, eq, text = field.partition("=")
        key = key.lower()
        kind = fields["type"]
        if not eq:
            if key in ("readonly", "ro"):
                fields["readonly"], ro_auto = True, False
            elif key in ("readwrite", "rw"):
                fields["readonly"], ro_auto = False, False
            elif key == "required" and kind in ("secret", "ssh"):
                fields["required"] = True
            elif key == "required":
                raise MountSpecError(f"unexpected key '{key}' for mount type '{kind}'")
            else:
                raise MountSpecError(f"invalid field '{field}' must be a key=value pair")
            continue
        if key == "type":
            if text.lower() not in TYPES:
                raise MountSpecError(f'unsupported mount type "{text}"')
            fields["type"] = text.lower()
        elif key == "from":
            fields["from_"] = text
        elif key in ("source", "src"):
            fields["source"] = text
        elif key in ("target", "dst", "destination"):
            fields["target"] = text
        elif key in ("readonly", "ro"):
            fields["readonly"], ro_auto = _bool(key, text), False
        elif key in ("readwrite", "rw"):
            fields["readonly"], ro_auto = not _bool(key, text), False
        elif key in _TYPES_OF and kind not in _TYPES_OF[key]:
            raise MountSpecError(f"unexpected key '{key}' for mount type '{kind}'")
        elif key == "required":
            fields["required"] = _bool(key, text)
        elif key == "size":
            try:
                fields["size"] = ram_in_bytes(text)
            except ValueError:
                raise MountSpecError(f"invalid value for {key}: {text}") from None
        elif key == "id":
            fields["id"] = text
        elif key == "sharing":
            if text.lower() not in SHARING_MODES:
                raise MountSpecError(f'unsupported sharing value "{text}"')
            fields["sharing"] = text.lower()
        elif key == "mode":
            fields["mode"] = _uint(key, text, 8)
        elif key in ("uid", "gid"):
            fields[key] = _uint(key, text, 10)
        elif key == "env":
            fields["env"] = text
        else:
            raise MountSpecError(f"unexpected key '{key}' in '{field}'")
    spec = MountSpec(**fields)
    _validate(spec)
    if ro_auto:
        spec = replace(spec, readonly=spec.type not in ("cache", "tmpfs"))
    return spec


def _validate(spec: MountSpec) -> None:
    if spec.type not in ("secret", "ssh", "cache"):
        for name in ("mode", "uid", "gid"):
            if getattr(spec, name) is not None:
                raise MountSpecError(f'{name} not allowed for "{spec.type}" type mounts')
    if spec.type == "secret":
        if spec.from_:
            raise MountSpecError("secret mount should not have a from")
        if spec.sharing:
            raise MountSpecError("secret mount should not define sharing")
        if not spec.source and not spec.target and not spec.id:
            raise MountSpecError("invalid secret mount. one of source, target required")
        if spec.source and spec.id:
            raise MountSpecError("both source and id can't be set")
    elif spec.env is not None:
        raise MountSpecError(f"unexpected key 'env' for mount type '{spec.type}'")
    if spec.sharing and spec.type != "cache":
        raise MountSpecError(f"invalid cache sharing set for {spec.type} mount")
    if spec.type == "ssh" and spec.source:
        raise MountSpecError("ssh does not support source")


@dataclass(frozen=True)
class ResolvedMount:
    """A mount with BuildKit's defaults applied for one step: absolute ``target``, ``id`` filled in."""

    spec: MountSpec
    target: str
    id: str

    @property
    def type(self) -> str:
        return self.spec.type


def resolve(spec: MountSpec, workdir: str, ssh_index: int = 0) -> ResolvedMount:
    """Apply the step's defaults: a relative target is taken from the working directory, a cache's id is its
    target as written, a secret's id its source or its target's base name, an ssh mount's id ``default``.
    Raises `MountSpecError` for a mount on ``/``."""
    kind = spec.type
    if kind == "secret":
        ident = spec.source or spec.id or posixpath.basename(spec.target)
        if not ident:
            raise MountSpecError("one of source, target required")
        target = spec.target or ("" if spec.env is not None else f"/run/secrets/{posixpath.basename(ident)}")
    elif kind == "ssh":
        ident = spec.id or "default"
        target = spec.target or f"/run/buildkit/ssh_agent.{ssh_index}"
    else:
        ident = spec.id or spec.target
        target = spec.target
    if kind != "secret" or target:  # a secret exposed only as a variable has no file
        target = "/" + posixpath.normpath(posixpath.join("/", workdir, target)).lstrip("/")
        if target == "/":
            raise MountSpecError(f'invalid mount target "{target}"')
    return ResolvedMount(spec, target, ident)
