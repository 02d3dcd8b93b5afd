"""Ops: what makes a layer, as frozen values the frontend lowers a Buildfile to and the solver runs.

An op holds everything its layer depends on that the Buildfile decides (the process, the paths, the flags) and
names the trees it reads (`TreeInput`: the build context, a stage of this build, an image, a
``--build-context`` directory, nothing). What only the machine can say — the content digest of the files a
COPY selects, of what a ``RUN --mount`` binds — the solver reads through the effects and hands to
`key_parts`, which adds it to the op's own fields. So a cache key is derived from the op that runs, never
assembled beside it.

Each op names, in ``NOT_KEYED``, the fields its key leaves out and why; every other field is part of the key
(a test changes each field and checks that the key changes). The solver adds the parts every layer step has
(``keyword``, ``parent``, ``epoch``; see `builder.solver.keys`). No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from builder.mounts.spec import ResolvedMount
from builder.runoptions import RunOptions
from builder.syntax.ast import Heredoc


# --- the trees an op reads ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ContextInput:
    """The build context, as BuildKit receives it (the ignore file applied)."""


@dataclass(frozen=True)
class StageInput:
    """A stage of this build, by its plan index (``written``: how the Buildfile named it)."""

    index: int
    written: str


@dataclass(frozen=True)
class ImageInput:
    """An image by reference, pulled as FROM pulls it when the store lacks it, for ``platform``."""

    ref: str
    platform: str | None = None


@dataclass(frozen=True)
class DirectoryInput:
    """A ``--build-context NAME=DIR`` directory, read as the context is (its files become root's)."""

    name: str
    path: str


@dataclass(frozen=True)
class ScratchInput:
    """Nothing: ``--from=scratch``."""


TreeInput = ContextInput | StageInput | ImageInput | DirectoryInput | ScratchInput


@dataclass(frozen=True)
class BaseImage:
    """An image a stage starts FROM, read before lowering (its config decides what later steps see).
    ``layers`` are the layer descriptors of its manifest, bottom first, aligned with ``diff_ids``."""

    ref: str
    manifest_digest: str
    config: dict
    diff_ids: tuple[str, ...]
    layers: tuple[dict, ...]


# --- layer ops ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunOp:
    """RUN: a process in a container on the parent's layers; its changes are the layer.

    ``env`` is the image's ENV at the step; ``args`` the build args the process sees that no ENV shadows;
    the process environment is both (`process_env`), plus the predefined proxy args (``proxy``), which
    BuildKit passes without keying the step on them. ``mount_trees`` are the trees ``--mount from=`` names,
    in the order of ``mounts`` (None for a mount that reads none), for the solver to have them ready."""

    platform: str | None
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    args: tuple[tuple[str, str], ...]
    user: str
    cwd: str
    network: str
    flags: tuple[tuple[str, object], ...]
    run_options: RunOptions = field(default_factory=RunOptions)
    mounts: tuple[ResolvedMount, ...] = ()
    mount_trees: tuple[TreeInput | None, ...] = ()
    script: Heredoc | None = None
    privileged: bool = False
    proxy: tuple[tuple[str, str], ...] = ()
    history_args: tuple[tuple[str, str], ...] = ()

    keyword: ClassVar[str] = "RUN"
    NOT_KEYED: ClassVar[dict[str, str]] = {
        "proxy": "proxies reach the process but not the key, as in BuildKit",
        "history_args": "only the history text shows them",
        "mount_trees": "what they hold is keyed as each mount's content",
        "privileged": "keyed as the --security flag it comes from",
    }

    def process_env(self) -> list[str]:
        """``NAME=value`` entries: ENV, then the build args, then proxies no ENV or ARG of theirs replaced."""
        env = [f"{k}={v}" for k, v in (*self.env, *self.args)]
        present = {k for k, _ in (*self.env, *self.args)}
        return env + [f"{k}={v}" for k, v in self.proxy if k not in present]

    def key_parts(self, mount_contents: tuple[str | None, ...] = (), selections: dict | None = None) -> dict:
        """The op's readable key parts; ``mount_contents`` holds, per mount, the content digest of what a
        bind (or a seeded cache mount) reads (None where a mount reads nothing), ``selections`` the stage
        path digests they were taken from (carried with the record, not keyed)."""
        parts = {
            # the process runs for the stage's platform (emulated or not): the one part that follows it
            "platform": self.platform,
            "argv": list(self.argv),
            "env": [[k, v] for k, v in self.env],
            "args": [[k, v] for k, v in self.args],
            "user": self.user,
            "cwd": self.cwd,
            "network": self.network,
            "flags": dict(self.flags),
            **self.run_options.key_parts(),
        }
        if self.mounts:
            parts["mounts"] = [
                _mount_part(m, c) for m, c in zip(self.mounts, _padded(mount_contents, self), strict=True)
            ]
            if selections:
                parts["selections"] = dict(selections)
        if self.script is not None:
            parts["script"] = self.script.content
        return parts

    def history(self) -> str:
        """BuildKit's ``created_by``: ``RUN |2 A=1 B=2 /bin/sh -c make # buildkit``."""
        prefix = ""
        if self.history_args:
            shown = " ".join(f"{k}={v}" for k, v in self.history_args)
            prefix = f"|{len(self.history_args)} {shown} "
        return f"RUN {prefix}{' '.join(self.argv)} # buildkit"


def _padded(contents: tuple[str | None, ...], op: RunOp) -> tuple[str | None, ...]:
    return tuple(contents) + (None,) * (len(op.mounts) - len(contents))


def _mount_part(m: ResolvedMount, content: str | None) -> dict:
    """One mount's key part: its type, target and options; for a bind (or a cache seeded ``from=``) the
    content digest of what it reads. Never a cache's ``id`` or ``sharing``, a secret's bytes or a socket."""
    spec = m.spec
    part: dict = {"type": m.type, "target": m.target}
    if m.type == "bind":
        part.update(readonly=spec.readonly, source=spec.source or "/", **{"from": spec.from_})
        part["content"] = content
    elif m.type == "cache":
        part.update(readonly=spec.readonly, **{"from": spec.from_})
        part.update(source=spec.source, mode=spec.mode, uid=spec.uid, gid=spec.gid)
        if spec.from_:
            part["content"] = content
    elif m.type == "tmpfs":
        part["size"] = spec.size
    else:
        part.update(id=m.id, required=spec.required, mode=spec.mode, uid=spec.uid, gid=spec.gid)
        if spec.env is not None:
            part["env"] = spec.env
    return part


@dataclass(frozen=True)
class CopyOp:
    """COPY or ADD: sources from ``tree`` (and heredoc bodies, and for ADD downloads) copied to ``dest``.

    ``sources`` are as written after expansion (heredoc words and URLs included); ``target`` and ``as_dir``
    the absolute destination and whether it names a directory. What the sources hold is keyed through the
    ``files`` digests the solver reads (`key_parts`)."""

    keyword: str
    sources: tuple[str, ...]
    dest: str
    workdir: str
    tree: TreeInput
    from_ref: str | None = None
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    parents: bool = False
    exclude: tuple[str, ...] = ()
    heredocs: tuple[Heredoc, ...] = ()
    checksum: str | None = None
    keep_git_dir: bool = False

    NOT_KEYED: ClassVar[dict[str, str]] = {
        "tree": "named by from_ref; what it holds is keyed through files",
        "heredocs": "their bodies are keyed through files",
        "checksum": "it verifies a download whose content is keyed through files",
        "keep_git_dir": "the checkout it keeps is keyed through files",
    }

    @property
    def is_add(self) -> bool:
        return self.keyword == "ADD"

    def heredoc(self, source: str) -> Heredoc | None:
        """The heredoc a source word names (``<<EOF``, ``<<-EOF``, quotes dropped), if any."""
        bare = source.replace('"', "").replace("'", "")
        for doc in self.heredocs:
            if bare in (f"<<{doc.name}", f"<<-{doc.name}"):
                return doc
        return None

    def remote_sources(self) -> tuple[str, ...]:
        """ADD's URLs and git repositories, in order."""
        if not self.is_add:
            return ()
        from builder.fsops.add import is_remote  # a pure test of the source's form

        return tuple(s for s in self.sources if is_remote(s))

    def local_sources(self) -> tuple[str, ...]:
        remote = self.remote_sources()
        return tuple(s for s in self.sources if s not in remote)

    def heredoc_files(self) -> dict[str, str]:
        """The ``files`` entries of the heredoc sources: their bodies, known without reading anything."""
        return {
            doc.name: f"heredoc {doc.content!r}"
            for doc in (self.heredoc(s) for s in self.local_sources())
            if doc is not None
        }

    def key_parts(self, files: dict[str, str]) -> dict:
        """The op's readable key parts; ``files`` the content digests of everything it copies (path → digest,
        heredoc bodies included). ``--link`` keys on no parent: its layer is the same whatever it lands on."""
        parts = {"sources": list(self.sources), "dest": self.dest, "workdir": self.workdir, "chown": self.chown}
        parts |= {"chmod": self.chmod, "from": self.from_ref, "link": self.link, "parents": self.parents}
        parts |= {"exclude": list(self.exclude), "files": files}
        if self.link:
            parts["parent"] = "none (--link)"
        return parts

    def history(self) -> str:
        """``COPY [--chown=…] [--chmod=…] src… dest # buildkit``: BuildKit v0.13 records ``--chown`` then
        ``--chmod`` and no other flag; a heredoc source as ``<<NAME`` (quotes and the ``-`` dropped)."""
        shown = [f"<<{doc.name}" if (doc := self.heredoc(s)) is not None else s for s in self.sources]
        flags = [f"--chown={self.chown}"] if self.chown else []
        flags += [f"--chmod={self.chmod}"] if self.chmod else []
        return f"{self.keyword} {' '.join([*flags, *shown, self.dest])} # buildkit"


@dataclass(frozen=True)
class MkdirOp:
    """WORKDIR's directory, created owned by USER (as BuildKit does) in a layer of its own."""

    path: str
    user: str
    #: ``WorkingDir`` as the config records it (``/tmp/`` keeps its slash); ``path`` is the directory made
    recorded: str = ""

    keyword: ClassVar[str] = "WORKDIR"
    NOT_KEYED: ClassVar[dict[str, str]] = {"recorded": "only the history text shows it; path is what is made"}

    def key_parts(self) -> dict:
        return {"path": self.path, "user": self.user}

    def history(self) -> str:
        return f"WORKDIR {self.recorded or self.path}"


LayerOp = RunOp | CopyOp | MkdirOp


def named_trees(op: LayerOp) -> tuple[tuple[TreeInput, str], ...]:
    """The trees ``op`` reads besides its parent, each with the flag that named it as written
    (``--from=build``, ``--mount from=build``), for messages."""
    if isinstance(op, CopyOp):
        return ((op.tree, f"--from={op.from_ref}"),)
    if isinstance(op, RunOp):
        return tuple(
            (tree, f"--mount from={m.spec.from_}")
            for m, tree in zip(op.mounts, op.mount_trees, strict=True)
            if tree is not None
        )
    return ()


def trees_of(op: LayerOp) -> tuple[TreeInput, ...]:
    """The trees ``op`` reads besides its parent: the edges of the op graph."""
    return tuple(tree for tree, _flag in named_trees(op))
