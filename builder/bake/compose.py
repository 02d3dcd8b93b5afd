"""Compose files' services with a ``build:`` section → bake targets, as buildx v0.13 maps them.

PyYAML parses; ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?msg}``, ``$VAR`` and ``$$`` are
interpolated from the environment (and ``.env`` in the working directory) as compose does. Each service with
``build`` becomes a target of its name in the group ``default``: context, dockerfile, dockerfile_inline,
args, labels, tags (else the service's ``image``), target, cache_from, cache_to, secrets (from the top-level
``secrets``), additional_contexts, shm_size, ulimits, network, and ``x-bake`` (buildx's extension). Two
compose keys buildx v0.13 leaves out are honoured, as later buildx releases do: ``platforms`` and ``ssh``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from builder.bake.model import Config, Group, Target
from builder.errors import Span, SyntaxProblem

_VARIABLE = re.compile(
    r"\$(?:(?P<dollar>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_BUILD_KEYS = {
    "context",
    "dockerfile",
    "dockerfile_inline",
    "args",
    "labels",
    "tags",
    "target",
    "cache_from",
    "cache_to",
    "secrets",
    "ssh",
    "platforms",
    "additional_contexts",
    "shm_size",
    "ulimits",
    "network",
    "x-bake",
}
_XBAKE_LISTS = {
    "tags": "tags",
    "cache-from": "cache_from",
    "cache-to": "cache_to",
    "secret": "secret",
    "ssh": "ssh",
    "platforms": "platforms",
    "output": "output",
    "no-cache-filter": "no_cache_filter",
}


def load_yaml(text: str, name: str) -> object:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        lines = text.splitlines()
        source = lines[line - 1] if 0 < line <= len(lines) else None
        problem = getattr(error, "problem", None) or str(error)
        raise SyntaxProblem(f"invalid YAML: {problem}", Span(name, line, column, source_line=source)) from None


def interpolate(value: object, env: Mapping[str, str], span: Span) -> object:
    """Compose's variable substitution in every string of ``value``."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: _substitute(m, env, span), value)
    if isinstance(value, list):
        return [interpolate(item, env, span) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env, span) for key, item in value.items()}
    return value


def _substitute(match: re.Match, env: Mapping[str, str], span: Span) -> str:
    if match.group("dollar"):
        return "$"
    name = match.group("braced") or match.group("bare")
    op, arg = match.group("op"), match.group("arg") or ""
    value = env.get(name)
    unset_or_empty = not value if op and op.startswith(":") else value is None
    if op in ("-", ":-"):
        return arg if unset_or_empty else value
    if op in ("?", ":?"):
        if unset_or_empty:
            raise SyntaxProblem(f"required variable {name} is missing a value: {arg}", span)
        return value
    if op in ("+", ":+"):
        return "" if unset_or_empty else arg
    return value or ""


def is_compose(name: str) -> bool:
    return name.lower().endswith((".yml", ".yaml"))


def compose_config(files: list[tuple[str, str]], env: Mapping[str, str]) -> Config:
    """The targets of the services with ``build`` in ``files`` (merged in order: a later file's service keys
    replace an earlier one's, as compose merges)."""
    services: dict[str, dict] = {}
    secrets: dict[str, dict] = {}
    spans: dict[str, Span] = {}
    for name, text in files:
        span = Span(name, 1, 1)
        document = interpolate(load_yaml(text, name) or {}, env, span)
        if not isinstance(document, dict):
            raise SyntaxProblem("a compose file must hold a mapping", span)
        for service, body in (document.get("services") or {}).items():
            if not isinstance(body, dict):
                raise SyntaxProblem(f"service {service!r} must be a mapping", span)
            merged = services.setdefault(str(service), {})
            for key, value in body.items():
                if key == "build" and isinstance(value, dict) and isinstance(merged.get("build"), dict):
                    merged["build"] = {**merged["build"], **value}
                else:
                    merged[key] = value
            spans.setdefault(str(service), _service_span(text, name, str(service)))
        secrets.update(document.get("secrets") or {})
    config = Config()
    group = Group("default")
    for service, body in services.items():
        build = body.get("build")
        if build is None:
            continue
        target = _target(service, body, build, secrets, env, spans[service])
        group.targets.append(target.name)
        config.add_target(target)
    if services:
        config.add_group(group)
    return config


def _service_span(text: str, name: str, service: str) -> Span:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"^\s+{re.escape(service)}\s*:", line):
            return Span(name, number, len(line) - len(line.lstrip()) + 1, source_line=line)
    return Span(name, 1, 1)


def _target(
    service: str, body: dict, build: object, secrets: dict, env: Mapping[str, str], span: Span
) -> Target:
    if isinstance(build, str):
        build = {"context": build}
    if not isinstance(build, dict):
        raise SyntaxProblem(f"service {service!r}: build must be a path or a mapping", span)
    for key in build:
        if key not in _BUILD_KEYS:
            raise SyntaxProblem(f"service {service!r}: build key {key!r} is not supported by pybuild", span)
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", service)
    target = Target(name, span=span)
    target.context = _clean(_str(build.get("context")))
    target.dockerfile = _str(build.get("dockerfile"))
    target.dockerfile_inline = _str(build.get("dockerfile_inline"))
    target.contexts = _mapping(build.get("additional_contexts"), service, span) or None
    target.tags = [str(t) for t in build.get("tags") or []] or None
    target.labels = _mapping(build.get("labels"), service, span)
    args = _mapping(build.get("args"), service, span, env=env, service_env=body.get("environment"))
    target.args = {k: v for k, v in args.items() if v is not None} or None
    target.cache_from = [str(v) for v in build.get("cache_from") or []] or None
    target.cache_to = [str(v) for v in build.get("cache_to") or []] or None
    target.platforms = [str(v) for v in build.get("platforms") or []] or None
    target.ssh = [str(v) for v in build.get("ssh") or []] or None
    target.network = str(build.get("network") or "")
    target.secret = [_secret(s, secrets, service, span) for s in build.get("secrets") or []] or None
    if build.get("shm_size") is not None:
        target.shm_size = str(build["shm_size"])
    if build.get("ulimits"):
        target.ulimits = [_ulimit(k, v) for k, v in build["ulimits"].items()]
    if build.get("target"):
        target.target = str(build["target"])
    if not target.tags and body.get("image"):
        target.tags = [str(body["image"])]
    _x_bake(target, build.get("x-bake"), service, span)
    return target


def _clean(path: str | None) -> str | None:
    """A local context path cleaned as compose-go cleans it (``./api`` → ``api``); URLs as written."""
    if path is None or "://" in path or path.startswith("git@"):
        return path
    import posixpath

    return posixpath.normpath(path)


def _str(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _mapping(value, service, span, env=None, service_env=None) -> dict:
    """A compose mapping given as a dict or a ``KEY=VALUE`` list; a key alone takes its value from the
    service's environment, then the process's (``env``), or is dropped."""
    if value is None:
        return {}
    if isinstance(value, list):
        pairs = {}
        for item in value:
            key, eq, val = str(item).partition("=")
            pairs[key] = val if eq else None
        value = pairs
    if not isinstance(value, dict):
        raise SyntaxProblem(f"service {service!r}: expected a mapping or a list of KEY=VALUE", span)
    result = {}
    for key, val in value.items():
        if val is None and env is not None:
            scoped = _mapping(service_env, service, span) if service_env else {}
            val = scoped.get(key) if scoped.get(key) is not None else env.get(str(key))
        result[str(key)] = None if val is None else _scalar(val)
    return result


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _secret(entry, secrets: dict, service: str, span: Span) -> str:
    source = entry if isinstance(entry, str) else (entry or {}).get("source", "")
    definition = secrets.get(source) or {}
    if definition.get("external"):
        raise SyntaxProblem(f"unsupported external secret {source}", span)
    fields = [f"id={source}"] if source else []
    if definition.get("file"):
        fields.append(f"src={definition['file']}")
    if definition.get("environment"):
        fields.append(f"env={definition['environment']}")
    return ",".join(fields)


def _ulimit(name: str, value) -> str:
    if isinstance(value, dict):
        return f"{name}={value.get('soft')}:{value.get('hard')}"
    return f"{name}={value}:{value}"


def _x_bake(target: Target, extension, service: str, span: Span) -> None:
    if not extension:
        return
    if not isinstance(extension, dict):
        raise SyntaxProblem(f"service {service!r}: x-bake must be a mapping", span)
    for key, value in extension.items():
        if key in _XBAKE_LISTS:
            values = value.split() if isinstance(value, str) else [str(v) for v in value or []]
            name = _XBAKE_LISTS[key]
            setattr(target, name, list(dict.fromkeys((getattr(target, name) or []) + values)) or None)
        elif key in ("pull", "no-cache"):
            setattr(target, key.replace("-", "_"), bool(value))
        elif key == "contexts":
            target.contexts = {**{k: str(v) for k, v in (value or {}).items()}, **(target.contexts or {})}
        else:
            raise SyntaxProblem(f"service {service!r}: x-bake key {key!r} is not supported", span)
