"""The mounts of one RUN step: parsed from its ``--mount`` values, described for its cache key, and made
for the duration of its process.

What a step's cache key holds of its mounts, as BuildKit's does: each mount's type, target and options;
for a bind mount the content digest of what it binds (the source path in a stage or image, as ``COPY
--from`` keys on the selected files, or the context's source read through the ignore file); for a cache
mount seeded ``from=`` a stage, the content digest of its seed. Never a cache mount's ``id`` or ``sharing``
(they name storage and how it is shared, not an input: BuildKit keeps the step cached when they change),
never a cache mount's own content, never a secret's bytes, never an agent socket's path.

A cache mount seeded from a stage is its own cache per seed (BuildKit names the directory by the id and the
seed's reference): a new seed gives a fresh directory filled from it, as the step that runs for it expects.

The content of a path in a stage is a function of the stage's layers (their ChainID) and the path, so a
digest known for the pair stands for reading it (`selections`): a cached step is keyed without reading the
stage, nor fetching its remote layers. ``MountInputs.used`` collects the pairs a step's key took, which its
record carries (the ``selections`` part, not keyed: `builder.cache`) for builds that import it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from builder import runtime
from builder.errors import BuildError, Span
from builder.fsops.rootpath import resolve_in_root
from builder.treewalk import make_parents, walk_bottom_up

from .cachedirs import CacheDirs
from .selections import Selections
from .spec import MountSpecError, ResolvedMount, parse_mount, resolve

if TYPE_CHECKING:
    # `secrets` (sockets, subprocess, ctypes) is imported when a step is mounted, not for its cache key
    from .secrets import SecretSource, SshSource

#: A tmpfs without size= may grow to half of the memory, the kernel's default.
_HALF_OF_MEMORY = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2


@dataclass
class MountInputs:
    """What the mounts of a step take from the build.

    ``layers_of(name)`` gives the lowerdirs (top first) and an identity (ChainID) of a stage or image named
    in ``from=`` (``scratch``: no layers). ``context_included(rel)`` says whether a context path is sent
    (None: no ignore file). ``state_dir`` is the runtime's, for the throwaway overlays of bind sources.
    """

    store: object
    state_dir: Path
    context: Path
    layers_of: Callable[[str], tuple[list[Path], str]]
    context_included: Callable[[], Callable[[str], bool] | None]
    secrets: Mapping[str, SecretSource] = field(default_factory=dict)
    ssh: Mapping[str, SshSource] = field(default_factory=dict)
    #: ``"CHAINID PATH"`` → content digest, known without reading the layers (see the module docstring)
    selections: Selections = field(default_factory=lambda: Selections(None))
    #: the pairs this step's key took, filled by `mount_contents`
    used: dict[str, str] = field(default_factory=dict)
    #: content digests of context files kept between builds (`builder.sources.StatCache`)
    stat_cache: object = None
    #: True once the build is cancelled: reading a mount's content stops (`builder.sources.DigestStopped`)
    stopped: Callable[[], bool] | None = None


@dataclass
class Mounted:
    """The runtime mounts and extra environment of a step; ``state_dir`` is a private runtime state
    directory to use instead of the store's when the environment holds a secret (None otherwise)."""

    mounts: list[runtime.Mount]
    env: list[str]
    state_dir: Path | None


def parse_step_mounts(values: list[str], spans: list[Span | None], workdir: str) -> list[ResolvedMount]:
    """The step's mounts with defaults applied; a bad value raises `MountSpecError` at its flag."""
    mounts: list[ResolvedMount] = []
    ssh_count = 0
    for value, span in zip(values, spans, strict=False):
        try:
            spec = parse_mount(value)
            mounts.append(resolve(spec, workdir, ssh_count))
        except MountSpecError as error:
            raise error.with_span(span) if span is not None else error from None
        ssh_count += spec.type == "ssh"
    return mounts


def mount_contents(mounts: list[ResolvedMount], inputs: MountInputs) -> list[str | None]:
    """Per mount, the content digest its cache-key part holds (`builder.ops.RunOp.key_parts` makes the rest
    of the part), None where it holds none."""
    contents: list[str | None] = []
    for m in mounts:
        spec = m.spec
        if m.type == "bind":
            contents.append(_bind_identity(spec.from_, spec.source, inputs))
        elif m.type == "cache" and spec.from_:
            contents.append(_stage_content(spec.from_, spec.source, inputs))
        else:
            contents.append(None)
    return contents


def _bind_identity(from_: str, source: str, inputs: MountInputs) -> str:
    if from_:
        return _stage_content(from_, source, inputs)
    from builder.sources import tree_digest

    included = inputs.context_included()
    prefix = os.path.normpath("/" + source).strip("/")
    path = inputs.context / prefix if prefix else inputs.context
    if not os.path.lexists(path):
        return "missing"
    excluded = None
    if included is not None:
        excluded = lambda rel: not included(f"{prefix}/{rel}".strip("/"))  # noqa: E731
    return tree_digest(
        path,
        excluded=excluded,
        stat_cache=inputs.stat_cache,  # type: ignore[arg-type]
        stopped=inputs.stopped,
    )


def _stage_content(from_: str, source: str, inputs: MountInputs) -> str:
    """The content digest of ``source`` in stage or image ``from_`` (path, type, mode, owner, content or
    link target of everything below it, as `builder.sources` describes a ``COPY --from`` source), or
    ``missing``: an unrelated file of the stage changing leaves it as it was. ``scratch`` has nothing."""
    from builder.sources import tree_digest

    if from_ == "scratch":
        return "missing"
    _lowers, chain = inputs.layers_of(from_)
    name = f"{chain} {os.path.normpath('/' + (source or '/'))}"
    digest = inputs.used.get(name) or inputs.selections.get(name)
    if digest is None:
        with _source_root(from_, inputs) as root:
            path = resolve_in_root(root, source or "/")
            digest = tree_digest(path, stopped=inputs.stopped) if os.path.lexists(path) else "missing"
        inputs.selections.put(name, digest)
    inputs.used[name] = digest
    return digest


def _missing_secret(m: ResolvedMount) -> BuildError:
    hint = f"pass it with --secret id={m.id},src=PATH (or env=VARIABLE)"
    return BuildError(f"secret {m.id} not found", hint=hint)


@contextmanager
def mounted(mounts: list[ResolvedMount], inputs: MountInputs, *, env_names: set[str]) -> Iterator[Mounted]:
    """Make ``mounts`` for one step's process and undo everything afterwards.

    ``env_names``: the variables the step's environment already has (SSH_AUTH_SOCK is set to the first ssh
    mount's socket unless it is one of them, as BuildKit does). Raises BuildError for a required secret or
    ssh agent that was not provided, or a bind source that does not exist.
    """
    from .secrets import private_dir, write_secret

    with ExitStack() as stack:
        result = Mounted([], [], None)
        private: Path | None = None

        def private_path() -> Path:
            nonlocal private
            if private is None:
                private = stack.enter_context(private_dir(under=inputs.state_dir))
            return private

        ssh_targets = []
        for number, m in enumerate(mounts):
            spec = m.spec
            if m.type == "bind":
                result.mounts.append(_bind(m, inputs, stack))
            elif m.type == "cache":
                result.mounts.append(_cache(m, inputs, stack))
            elif m.type == "tmpfs":
                # Made here and bound: runc would give a tmpfs it mounts the mode of its mountpoint (the stub
                # made for it, 0755), where BuildKit's tmpfs is 1777 as a fresh tmpfs is.
                fresh = stack.enter_context(
                    private_dir(
                        under=inputs.state_dir, mode="1777", size=spec.size or _HALF_OF_MEMORY, executable=True
                    )
                )
                result.mounts.append(runtime.Mount(m.target, "bind", str(fresh), ("rbind",)))
            elif m.type == "secret":
                source = inputs.secrets.get(m.id)
                data = source.read() if source is not None else None
                if data is None:
                    if spec.required:
                        raise _missing_secret(m)
                    continue
                if spec.env is not None:
                    result.env.append(f"{spec.env}={os.fsdecode(data)}")
                    result.state_dir = private_path() / "runtime"
                if m.target:
                    mode = spec.mode if spec.mode is not None else 0o400
                    path = write_secret(
                        private_path(),
                        f"secret-{number}",
                        data,
                        mode=mode,
                        uid=spec.uid or 0,
                        gid=spec.gid or 0,
                    )
                    result.mounts.append(runtime.Mount(m.target, "bind", str(path), ("rbind", "ro")))
                del data
            else:
                ssh_targets.append(m.target)
                path = _ssh_socket(m, inputs, stack, private_path, number)
                if path is not None:
                    result.mounts.append(runtime.Mount(m.target, "bind", str(path), ("rbind",)))
        if ssh_targets and "SSH_AUTH_SOCK" not in env_names:
            result.env.append(f"SSH_AUTH_SOCK={ssh_targets[0]}")
        if result.state_dir is not None:
            result.state_dir.mkdir(mode=0o700, exist_ok=True)
        # outer mounts first, so a mount inside another one's target is made on top of it
        result.mounts.sort(key=lambda mount: mount.destination.rstrip("/").count("/"))
        yield result


def cache_identity(m: ResolvedMount) -> str:
    """Which cache directory a cache mount uses. BuildKit v0.13 keeps one cache per id *and* starting
    content: ``uid``/``gid``/``mode`` (the directory it starts as) or ``from``/``source`` make a cache of
    their own, so ``id=c,uid=3`` does not see what ``id=c`` wrote (tests/build/buildkit/run-mounts)."""
    spec = m.spec
    options = [f"{k}={v}" for k, v in (("from", spec.from_), ("source", spec.source)) if spec.from_ and v]
    options += [f"{k}={v}" for k, v in (("uid", spec.uid), ("gid", spec.gid)) if v is not None]
    options += [f"mode={spec.mode:04o}"] if spec.mode is not None else []
    return f"{m.id} ({','.join(options)})" if options else m.id


def _cache(m: ResolvedMount, inputs: MountInputs, stack: ExitStack) -> runtime.Mount:
    spec = m.spec

    def init(directory: Path) -> None:
        if spec.from_:
            with _source_root(spec.from_, inputs) as root:
                origin = resolve_in_root(root, spec.source or "/")
                if origin.is_dir():
                    shutil.copytree(origin, directory, symlinks=True, dirs_exist_ok=True)
        os.chown(directory, spec.uid or 0, spec.gid or 0)
        os.chmod(directory, spec.mode if spec.mode is not None else 0o755)

    ident = cache_identity(m)
    if spec.from_:  # a cache per seed, as BuildKit's per id and seed reference: a new seed starts afresh
        ident = f"{ident} {_stage_content(spec.from_, spec.source, inputs)}"
    dirs = CacheDirs(inputs.store.state_dir("cache-mounts"))  # type: ignore[attr-defined]
    path = stack.enter_context(dirs.use(ident, spec.sharing or "shared", init))
    return runtime.Mount(m.target, "bind", str(path), ("rbind", "ro") if spec.readonly else ("rbind",))


@contextmanager
def _source_root(from_: str, inputs: MountInputs) -> Iterator[Path]:
    """The root of stage or image ``from_``, mounted read-write over a throwaway upper directory."""
    store = inputs.store
    lowers, _identity = inputs.layers_of(from_)
    scratch = store.staging_dir()  # type: ignore[attr-defined]
    try:
        with runtime.overlay(lowers, scratch, state_dir=inputs.state_dir) as merged:
            yield merged
    finally:
        store.discard_staging(scratch)  # type: ignore[attr-defined]


def _bind(m: ResolvedMount, inputs: MountInputs, stack: ExitStack) -> runtime.Mount:
    spec = m.spec
    options = ("rbind", "ro") if spec.readonly else ("rbind",)
    if spec.from_:
        root = stack.enter_context(_source_root(spec.from_, inputs))
        shown = f"from={spec.from_}"
        source = resolve_in_root(root, spec.source or "/")
    else:
        inside = _inside_context(spec.source, inputs.context)
        root, shown = _context_root(inside, spec.readonly, inputs, stack), "the build context"
        source = resolve_in_root(root, inside or "/")
    if not os.path.exists(source):
        raise BuildError(f"--mount source {spec.source or '/'} not found in {shown}")
    return runtime.Mount(m.target, "bind", str(source), options)


def _inside_context(source: str, context: Path) -> str:
    """``source`` with the context's symlinks resolved, relative to the context; a source that leads out of
    the context (``..`` above it, or a symlink pointing out) is refused as a COPY source is (issue 9)."""
    from builder.fsops.contextpath import Outside, follow

    try:
        resolved, rest = follow(context, source or "/")
    except Outside as outside:
        via = f" through symlink {outside.link} -> {outside.target}" if outside.link else ""
        raise BuildError(f'--mount source "{source}" resolves outside the build context{via}') from None
    return "/".join(resolved + rest)


def _context_root(source: str, readonly: bool, inputs: MountInputs, stack: ExitStack) -> Path:
    """The context as BuildKit receives it (without what the ignore file excludes): the directory itself
    when nothing is excluded and the mount is read-only, else a copy of the ``source`` part of it that the
    step may write to and that is thrown away."""
    included = inputs.context_included()
    if included is None and readonly:
        return inputs.context
    store = inputs.store
    copy = store.staging_dir()  # type: ignore[attr-defined]
    stack.callback(store.discard_staging, copy)  # type: ignore[attr-defined]
    prefix = os.path.normpath("/" + source).strip("/")
    origin = inputs.context / prefix if prefix else inputs.context
    if origin.is_dir():
        link = readonly  # hard links are safe only where nothing can be written through them
        # bottom-up and without recursion: a context may nest deeper than Python's recursion limit, and a
        # directory's times are copied after its entries are written into it
        for directory, dirs, files in walk_bottom_up(os.fspath(origin)):
            rel_dir = os.path.relpath(directory, inputs.context)
            for name in sorted(dirs + files):
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if included is not None and not included(rel):
                    continue
                _copy_entry(Path(directory, name), copy / rel, link)
    elif os.path.lexists(origin) and (included is None or included(prefix)):
        _copy_entry(origin, copy / prefix, readonly)
    return copy


def _copy_entry(origin: Path, dest: Path, link: bool) -> None:
    make_parents(dest.parent)
    if origin.is_symlink():
        os.symlink(os.readlink(origin), dest)
    elif origin.is_dir():
        dest.mkdir(exist_ok=True)
        shutil.copystat(origin, dest)
    else:
        try:
            if not link:
                raise OSError
            os.link(origin, dest)
        except OSError:
            shutil.copy2(origin, dest)


def _ssh_socket(
    m: ResolvedMount, inputs: MountInputs, stack: ExitStack, private_path, number: int
) -> Path | None:
    from .secrets import Agent, SocketProxy, is_socket

    spec = m.spec
    source = inputs.ssh.get(m.id)
    if source is None:
        if spec.required:
            raise BuildError(
                f'no SSH key "{m.id}" forwarded from the client', hint=f"pass --ssh {m.id}=SOCKET|KEY"
            )
        return None
    directory = private_path()
    if len(source.paths) == 1 and is_socket(source.paths[0]):
        upstream = source.paths[0]
    else:
        agent = Agent(directory / f"agent-{number}", source.paths, m.id)
        stack.callback(agent.close)
        upstream = str(agent.socket_path)
    path = directory / f"ssh-{number}"
    mode = spec.mode if spec.mode is not None else 0o600
    proxy = SocketProxy(path, upstream, mode=mode, uid=spec.uid or 0, gid=spec.gid or 0)
    stack.callback(proxy.close)
    return path
