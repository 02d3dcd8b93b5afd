"""COPY and ADD steps: where sources are read from, their cache parts, and filling the layer.

Sources come from a `SourceTree`: the build context as BuildKit receives it (the ignore file applied through
`walk_context`, so an ignored file is never read), the root filesystem of a stage or an image (``--from``),
heredoc bodies, or — for ADD — what `builder.fsops.remote` fetched (a URL's file, a git checkout).

``--link`` makes a layer that does not depend on its parent: the copy is done straight into the empty
upperdir with no lower layers mounted, so missing parents are created 0755 root-owned whatever the parent
has there, a destination is a directory only by its trailing ``/``, and symlinks of the parent are not
followed. BuildKit rebases such a layer onto any parent; pybuild stacks it like any other layer, but its
content is the same whatever the parent is, and so is its cache key: it has no ``parent`` part, and a
change above it leaves it cached (the steps after it run, on another parent).

The key holds what the layer will: a source's owner only where the copy keeps it (``--from`` without
``--chown``); a context file is written root-owned (or ``--chown``ed), so its owner on disk is left out.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from builder import runtime
from builder.errors import BuildError
from builder.fsops import add as add_ins
from builder.fsops import copy as copy_ins
from builder.runtime.users import chown_ids
from builder.sources import digest_sources
from builder.store.errors import StoreError
from builder.syntax import ast

if TYPE_CHECKING:
    from builder.buildtypes import StageResult
    from builder.plan import Stage
    from builder.steps.runner import StepRunner

_ADD_ONLY = ("checksum", "keep-git-dir")


def _flag_list(value) -> list[str]:
    if value in (None, True, False):
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _on(value) -> bool:
    """A boolean flag: bare (``--link``) or ``--link=true``; ``--link=false`` is off."""
    return value is True or str(value).lower() in ("true", "1")


def _bare(source: str) -> str:
    """A source as heredoc names are looked up (quotes dropped)."""
    return source.replace('"', "").replace("'", "")


def _check_checksum_sources(sources: list[str]) -> None:
    """``ADD --checksum`` verifies one download: BuildKit refuses it with several sources or a local file, in
    v0.13's words; a git repository, whose checksum pybuild cannot verify, is refused the same way (v0.13
    goes on to fetch it)."""
    from builder.fsops.remote import is_git

    if len(sources) != 1:
        raise BuildError("checksum can't be specified for multiple sources")
    if not sources[0].startswith(("http://", "https://")) or is_git(sources[0]):
        raise BuildError("checksum can't be specified for non-HTTP sources")


class CopySteps:
    """COPY and ADD for one build: where sources are read from, the ignore rules, heredoc files."""

    def __init__(self, runner: StepRunner) -> None:
        self.runner = runner
        self._staging: list[Path] = []
        self._context_included: Callable[[str], bool] | None = None
        self._context_walked = False

    def prepare(self, stage: Stage, step, result: StageResult, results: dict):
        """Cache parts, the layer-filling function and the history text of a COPY or ADD step."""
        ins: ast.CopyLike = step.instruction
        is_add = isinstance(ins, ast.Add)
        *sources, dest = step.args
        flags = step.flags
        for name in _ADD_ONLY:
            if name in flags and not is_add:
                raise BuildError(f"unknown flag: --{name} (only ADD takes it)")
        chown, chmod = flags.get("chown"), flags.get("chmod")
        chmod_fn = copy_ins.parse_chmod(str(chmod)) if chmod else None
        from_ref = flags.get("from")
        link, parents = _on(flags.get("link")), _on(flags.get("parents"))
        excludes = _flag_list(flags.get("exclude"))
        skip = self._exclude_rule(excludes)
        heredocs = {f"<<{h.name}": h for h in step.heredocs} | {f"<<-{h.name}": h for h in step.heredocs}
        if flags.get("checksum"):
            _check_checksum_sources(sources)
        remote = [s for s in sources if is_add and add_ins.is_remote(s)]
        local = [s for s in sources if s not in remote]
        target, as_dir = copy_ins.destination(dest, result.state.workdir)
        fetched = [self._fetch(s, flags) for s in remote]
        files: dict[str, str] = {}
        with self._tree(from_ref, results, stage) as tree:
            keeps_owner = tree.keep_owner and not chown
            for source in local:
                bare = _bare(source)
                if bare in heredocs:
                    files[heredocs[bare].name] = f"heredoc {heredocs[bare].content!r}"
                    continue
                for path in tree.select(source):
                    resolved = tree.resolve(path)
                    if resolved is None:
                        raise tree.missing(path)
                    host = tree.root / resolved if resolved else tree.root
                    excluded = self._excluded(tree, resolved, skip)
                    files.update(digest_sources([(resolved, host)], excluded=excluded, owners=keeps_owner))
        for item in fetched:
            files.update(item.files)
        parts = {"sources": sources, "dest": dest, "workdir": result.state.workdir, "chown": chown}
        parts |= {"chmod": chmod, "from": from_ref, "link": link, "parents": parents, "exclude": excludes}
        parts["files"] = files
        if link:
            parts["parent"] = "none (--link)"
        lowers = [] if link else self.runner.lowerdirs(result)

        # One directory copied into a place the image has nothing: written past the mount, with the layer
        # tar made as it goes (`copystream`); everything else goes through the mount.
        direct = not is_add and not parents and len(local) == 1 and _bare(local[0]) not in heredocs

        def place_all(root: Path, tree: copy_ins.SourceTree, placement: copy_ins.Placement) -> None:
            for source in local:
                bare = _bare(source)
                if bare in heredocs:
                    doc, name = self._heredoc_tree(heredocs[bare])
                    copy_ins.copy_source(root, doc, name, target, as_dir, placement)
                    continue
                for path in tree.select(source):
                    # BuildKit keeps hard links within what one source (one match) copies, not across them
                    placement.links.clear()
                    extract = is_add
                    self._place(root, tree, source, path, target, as_dir, placement, skip, extract, parents)
            for item in fetched:
                item.place(root, target, as_dir, placement)

        def copy(upper: Path, placement: copy_ins.Placement, roots: list[str]) -> bool:
            """Fill ``upper``; True when the layer was streamed as it was written (and is final)."""
            with ExitStack() as stack:
                tree = stack.enter_context(self._tree(from_ref, results, stage))
                with ExitStack() as mounted:
                    root = (
                        upper
                        if link
                        else mounted.enter_context(
                            runtime.overlay(lowers, upper, state_dir=self.runner.state_dir)
                        )
                    )
                    roots.append(os.fspath(root))
                    if chown:
                        placement.uid, placement.gid = chown_ids(root, str(chown))
                    source = self._direct_source(tree, local[0]) if direct and not fetched else None
                    rel = None
                    if source is not None:
                        from builder.fsops import copystream

                        rel = copystream.prepare(root, lowers, target, placement, tree, source, skip)
                    if rel is None:
                        place_all(root, tree, placement)
                        return False
                # the mount is gone: below ``rel`` the upperdir is the image's whole content
                reuse = not self._no_cache(stage)
                streamed = (upper, lowers, rel, tree, source, placement, skip, from_ref, files, reuse)
                if self._copy_direct(*streamed):
                    return True
                if link:
                    place_all(upper, tree, placement)
                    return False
                with runtime.overlay(lowers, upper, state_dir=self.runner.state_dir) as root:
                    roots.append(os.fspath(root))
                    place_all(root, tree, placement)
                return False

        def fill(upper: Path) -> None:
            placement = copy_ins.Placement(chmod=chmod_fn)
            roots: list[str] = []  # where the copy wrote: the mount's root, or the upperdir itself
            if copy(upper, placement, roots):
                return
            copied = {
                os.path.relpath(path, root): mtime
                for path, mtime in placement.dir_times.items()
                for root in roots
                if path.startswith(root + "/")
            }
            from builder.fsops import dirtimes  # with the layer code: only when the step runs

            dirtimes.settle(upper, lowers, copied)

        # a heredoc source is recorded as <<NAME (BuildKit drops the quotes and the - of <<-)
        shown = [f"<<{heredocs[_bare(s)].name}" if _bare(s) in heredocs else s for s in sources]
        chown_text, chmod_text = (str(chown) if chown else None), (str(chmod) if chmod else None)
        return parts, fill, copy_ins.history_text(ins.keyword, shown, dest, chown_text, chmod_text)

    @staticmethod
    def _direct_source(tree: copy_ins.SourceTree, source: str) -> str | None:
        """The one directory ``source`` names (resolved), which a direct copy could place; else None."""
        paths = tree.select(source)
        if len(paths) != 1:
            return None
        resolved = tree.resolve(paths[0])
        if resolved is None or not (tree.root / resolved).is_dir():
            return None
        return resolved

    def _copy_direct(self, upper, lowers, rel, tree, source, placement, skip, from_ref, files, reuse) -> bool:
        """Copy ``source`` into ``upper/rel`` (see `copystream.copy_tree`) while writing the layer; False when
        the upperdir is not as expected and nothing was copied (the copy must go through the mount).

        A copy from the context remembers its layer and ``files`` (the source digests of the cache key), once
        the layer is in the store, so the next copy of the same source to the same place links the files
        that did not change — unless ``reuse`` is off (``--no-cache``: every file is written afresh)."""
        from builder.commit import layer_stream
        from builder.fsops import copystream

        options = self.runner.options
        memo = None if from_ref else self._memo_file(tree, source, rel)
        earlier = self._earlier(memo, rel, files) if reuse else None
        remember = None if memo is None else (lambda diff_id: self._remember(memo, diff_id, rel, files))
        # the directories on the way are in the layer as they are now: give them their final times first
        from builder.fsops import dirtimes

        dirtimes.settle(upper, lowers, {rel: os.stat(tree.root / source).st_mtime_ns})
        with layer_stream(
            self.runner.store,
            upper,
            compression=options.compression,
            clamp_mtime=self.runner.epoch,
            on_commit=remember,
        ) as layer:
            try:
                exact = copystream.copy_tree(layer.stream, upper, rel, tree, source, placement, skip, earlier)
            except copystream.Unusable:
                layer.abandon()
                return False
            if not exact:
                layer.abandon()
        return True

    def _no_cache(self, stage: Stage) -> bool:
        """``--no-cache``, or ``--no-cache-filter`` naming ``stage``, as the runner reads them."""
        options = self.runner.options
        filtered = options.no_cache_filter
        return options.no_cache or stage.name in filtered or str(stage.index) in filtered

    def _memo_file(self, tree: copy_ins.SourceTree, source: str, rel: str) -> Path:
        """The record of the last direct copy of ``source`` of ``tree`` to ``rel``: ``state/copies/<key>.json``,
        ``{"diff_id", "rel", "files"}`` with ``diff_id`` first. It keeps nothing alive: the store's gc removes
        it before (or once) its layer goes (`builder.store.gc`)."""
        from builder.store.gc import COPY_RECORDS

        key = hashlib.sha256(os.fsencode(f"{os.path.abspath(tree.root)}\0{source}\0{rel}")).hexdigest()
        return self.runner.store.state_dir(COPY_RECORDS) / f"{key[:32]}.json"

    def _earlier(self, memo: Path | None, rel: str, files: dict[str, str]):
        """The `copystream.Earlier` copy ``memo`` describes, if its layer is still in the store."""
        from builder.fsops import copystream

        if memo is None:
            return None
        try:
            record = json.loads(memo.read_bytes())
            layer = self.runner.store.layer_path(record["diff_id"])
        except (OSError, ValueError, KeyError, TypeError, StoreError):
            return None  # none yet, damaged, or its layer pruned: copy everything
        if record.get("rel") != rel or not isinstance(record.get("files"), dict):
            return None
        return copystream.Earlier(layer / rel, record["files"], files)

    def _remember(self, memo: Path, diff_id: str, rel: str, files: dict[str, str]) -> None:
        # Called once the layer is in the store: a record never names a layer that was not (yet) there.
        # Written beside in a staging directory (swept by the store if this process dies) and renamed over
        # the old record; not synced: a lost record only costs the next copy its links, never a wrong file.
        body = json.dumps({"diff_id": diff_id, "rel": rel, "files": files}, separators=(",", ":")).encode()
        scratch = self.runner.store.staging_dir()
        try:
            (scratch / "record").write_bytes(body)
            os.replace(scratch / "record", memo)
        except OSError:
            pass
        finally:
            self.runner.store.discard_staging(scratch)

    def _place(self, root, tree, source, path, target, as_dir, placement, skip, extract, parents) -> None:
        if parents:
            # --parents keeps the matched path below the destination, from the segment after a "/./"
            # in the source (or from the root when there is none).
            dropped = len(copy_ins.clean_segments(source.split("/./", 1)[0])) if "/./" in source else 0
            kept = "/".join(copy_ins.clean_segments(path)[dropped:])
            target, as_dir = posixpath.join(target, kept), False
        if extract and add_ins.extract_if_archive(root, tree, path, target, placement):
            return
        copy_ins.copy_source(root, tree, path, target, as_dir, placement, skip)

    def _fetch(self, source: str, flags: dict) -> add_ins.Fetched:
        directory = self.runner.store.staging_dir()  # swept by the store if this process dies
        self._staging.append(directory)
        checksum = flags.get("checksum")
        return add_ins.fetch(
            source,
            directory,
            checksum=str(checksum) if checksum else None,
            keep_git_dir=_on(flags.get("keep-git-dir")),
        )

    def _heredoc_tree(self, doc: ast.Heredoc) -> tuple[copy_ins.SourceTree, str]:
        directory = self.runner.store.staging_dir()
        self._staging.append(directory)
        name = posixpath.basename(doc.name)
        path = directory / name
        path.write_text(doc.content, encoding="utf-8", errors="surrogateescape")
        os.chmod(path, 0o644)
        os.utime(path, ns=(0, 0))  # the layer is a function of the Buildfile, not of when it was built
        return copy_ins.SourceTree(directory, name="a heredoc"), name

    @staticmethod
    def _exclude_rule(patterns: list[str]) -> Callable[[str], bool] | None:
        if not patterns:
            return None
        from builder.context import IgnoreRules

        return IgnoreRules(patterns).excludes

    @staticmethod
    def _excluded(
        tree: copy_ins.SourceTree, resolved: str, skip: Callable[[str], bool] | None
    ) -> Callable[[str], bool] | None:
        """What the copy of source ``resolved`` leaves out, for its digest: entries the tree does not hold
        (the ignore file) and, below the source, those ``--exclude`` matches — as `copy_source` does, so an
        edit to an excluded file leaves the step cached."""
        included = tree.included
        if skip is None:
            return None if included is None else (lambda rel: not included(rel))
        prefix = f"{resolved}/" if resolved else ""

        def excluded(rel: str) -> bool:
            if included is not None and not included(rel):
                return True
            return rel.startswith(prefix) and skip(rel[len(prefix) :])

        return excluded

    @contextmanager
    def _tree(self, from_ref, results: dict, stage: Stage) -> Iterator[copy_ins.SourceTree]:
        """The tree sources are read from: the context, or a stage's or image's root mounted read-only."""
        if not from_ref:
            context = self.runner.options.context
            yield copy_ins.SourceTree(context, self.context_rule())
            return
        named = self.runner.options.named_contexts.get(str(from_ref))
        if named is not None and named.directory is not None and not self.runner.is_stage(str(from_ref)):
            # a --build-context directory is read as the context is: its files become root's, as in BuildKit
            yield copy_ins.SourceTree(named.directory, name=f"--build-context {from_ref}")
            return
        try:
            layers, _chain = self.runner.layers_of(str(from_ref), stage, results)
        except BuildError as error:
            raise BuildError(f"--from={from_ref}: {error.message}") from None
        scratch = self.runner.store.staging_dir()
        try:
            with runtime.overlay(layers, scratch, state_dir=self.runner.state_dir) as merged:
                yield copy_ins.SourceTree(merged, keep_owner=True, name=f"--from={from_ref}")
        finally:
            self.runner.store.discard_staging(scratch)

    def context_rule(self) -> Callable[[str], bool] | None:
        """What the context holds as BuildKit receives it: every path the walk through the ignore file
        yields (None: everything, when there is no ignore file)."""
        if not self._context_walked:
            from builder.context import IgnoreRules, find_ignore_file, walk_context

            self._context_walked = True
            options = self.runner.options
            buildfile = options.buildfile
            if buildfile is None:
                from builder.userpaths import default_buildfile

                buildfile = default_buildfile(options.context)
            path = find_ignore_file(options.context, buildfile if options.buildfile_text is None else None)
            if path is not None:
                rules = IgnoreRules.from_file(path)
                if rules:
                    kept = {rel for rel, _ in walk_context(options.context, rules)}
                    self._context_included = kept.__contains__
        return self._context_included

    def finish(self) -> None:
        for directory in self._staging:
            self.runner.store.discard_staging(directory)
