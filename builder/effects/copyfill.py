"""COPY and ADD on this machine: what their sources hold (for the key), and filling the layer.

Sources come from a `SourceTree`: the build context as BuildKit receives it (the ignore file applied, so an
ignored file is never read), the root filesystem of a stage or an image (``--from``, mounted read-only),
a ``--build-context`` directory, heredoc bodies, or — for ADD — what `builder.fsops.remote` fetched.

``--link`` makes a layer that does not depend on its parent: the copy is done straight into the empty
upperdir with no lower layers mounted, so missing parents are created 0755 root-owned whatever the parent
has there, a destination is a directory only by its trailing ``/``, and symlinks of the parent are not
followed. Its key has no parent (`builder.ops.CopyOp.key_parts`).

The key holds what the layer will: a source's owner only where the copy keeps it (``--from`` without
``--chown``); a context file is written root-owned (or ``--chown``ed), so its owner on disk is left out.

Each function takes ``host``, the `builder.effects.host.HostEffects` of the build (its store, options, stat
cache, context rules and kept directories).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from builder import runtime
from builder.effects import Cancel, CopyInputs, Tree
from builder.fsops import add as add_ins
from builder.fsops import copy as copy_ins
from builder.fsops.remote import is_git
from builder.ops import ContextInput, CopyOp, DirectoryInput, TreeInput
from builder.runtime.users import chown_ids
from builder.sources import digest_sources
from builder.store.errors import StoreError


def copy_inputs(host, op: CopyOp, trees: Mapping[TreeInput, Tree], cancel: Cancel) -> CopyInputs:
    """Download ADD's remote sources and describe every file the copy reads (the ``files`` key part); the
    description stops with `builder.sources.DigestStopped` once ``cancel`` is set."""
    fetched = [_fetch(host, s, op) for s in op.remote_sources()]
    for source, item in zip(op.remote_sources(), fetched, strict=True):
        host.note_download(source, _material_digest(item.files), "git" if is_git(source) else "http")
    skip = _exclude_rule(op.exclude)
    files: dict[str, str] = {}
    with _tree(host, op, trees) as tree:
        keeps_owner = tree.keep_owner and not op.chown
        for source in op.local_sources():
            doc = op.heredoc(source)
            if doc is not None:
                files[doc.name] = f"heredoc {doc.content!r}"
                continue
            for path in tree.select(source):
                resolved = tree.resolve(path)
                if resolved is None:
                    raise tree.missing(path)
                where = tree.root / resolved if resolved else tree.root
                excluded = _excluded(tree, resolved, skip)
                files.update(
                    digest_sources(
                        [(resolved, where)],
                        excluded=excluded,
                        owners=keeps_owner,
                        stat_cache=host.stat_cache,
                        stopped=cancel.is_set,
                    )
                )
    for item in fetched:
        files.update(item.files)
    return CopyInputs(files, fetched)


def fill_copy(
    host,
    op: CopyOp,
    inputs: CopyInputs,
    lowers,
    upper: Path,
    trees: Mapping[TreeInput, Tree],
    *,
    reuse: bool,
):
    """Fill ``upper``; returns the `StreamedLayer` written while copying, or None."""
    chmod_fn = copy_ins.parse_chmod(op.chmod) if op.chmod else None
    placement = copy_ins.Placement(chmod=chmod_fn)
    lowers = [] if op.link else lowers
    roots: list[str] = []  # where the copy wrote: the mount's root, or the upperdir itself
    streamed = _copy(host, op, inputs, lowers, upper, trees, placement, roots, reuse)
    if streamed is not None:
        return streamed
    copied = {
        os.path.relpath(path, root): mtime
        for path, mtime in placement.dir_times.items()
        for root in roots
        if path.startswith(root + "/")
    }
    from builder.fsops import dirtimes  # with the layer code: only when the step runs

    dirtimes.settle(upper, lowers, copied)
    return None


def _copy(host, op: CopyOp, inputs: CopyInputs, lowers, upper: Path, trees, placement, roots, reuse):
    target, as_dir = copy_ins.destination(op.dest, op.workdir)
    local = op.local_sources()
    skip = _exclude_rule(op.exclude)
    # One directory copied into a place the image has nothing: written past the mount, with the layer tar
    # made as it goes (`copystream`); everything else goes through the mount.
    direct = not op.is_add and not op.parents and len(local) == 1 and op.heredoc(local[0]) is None

    def place_all(root: Path, tree: copy_ins.SourceTree) -> None:
        for source in local:
            doc = op.heredoc(source)
            if doc is not None:
                doc_tree, name = _heredoc_tree(host, doc)
                copy_ins.copy_source(root, doc_tree, name, target, as_dir, placement)
                continue
            for path in tree.select(source):
                # BuildKit keeps hard links within what one source (one match) copies, not across them
                placement.links.clear()
                _place(root, tree, source, path, target, as_dir, placement, skip, op.is_add, op.parents)
        for item in inputs.fetched:
            item.place(root, target, as_dir, placement)

    with ExitStack() as stack:
        tree = stack.enter_context(_tree(host, op, trees))
        with ExitStack() as mounted:
            root = (
                upper
                if op.link
                else mounted.enter_context(runtime.overlay(lowers, upper, state_dir=host.state_dir))
            )
            roots.append(os.fspath(root))
            if op.chown:
                placement.uid, placement.gid = chown_ids(root, op.chown)
            source = _direct_source(tree, local[0]) if direct and not inputs.fetched else None
            rel = None
            if source is not None:
                from builder.fsops import copystream

                rel = copystream.prepare(root, lowers, target, placement, tree, source, skip)
            if rel is None:
                place_all(root, tree)
                return None
        # the mount is gone: below ``rel`` the upperdir is the image's whole content
        streamed = _copy_direct(
            host, op, upper, lowers, rel, tree, source, placement, skip, inputs.files, reuse
        )
        if streamed is not None:
            return streamed
        if op.link:
            place_all(upper, tree)
            return None
        with runtime.overlay(lowers, upper, state_dir=host.state_dir) as root:
            roots.append(os.fspath(root))
            place_all(root, tree)
        return None


def _direct_source(tree: copy_ins.SourceTree, source: str) -> str | None:
    """The one directory ``source`` names (resolved), which a direct copy could place; else None."""
    paths = tree.select(source)
    if len(paths) != 1:
        return None
    resolved = tree.resolve(paths[0])
    if resolved is None or not (tree.root / resolved).is_dir():
        return None
    return resolved


def _copy_direct(host, op: CopyOp, upper, lowers, rel, tree, source, placement, skip, files, reuse):
    """Copy ``source`` into ``upper/rel`` (see `copystream.copy_tree`) while writing the layer; None when the
    upperdir is not as expected and nothing was copied (the copy must go through the mount), else the
    `StreamedLayer` (abandoned when the stream cannot be used: the commit then archives the directory).

    A copy from the context remembers its layer and ``files`` (the source digests of the cache key), once
    the layer is in the store, so the next copy of the same source to the same place links the files that
    did not change — unless ``reuse`` is off (``--no-cache``: every file is written afresh)."""
    from builder.fsops import copystream, dirtimes
    from builder.fsops.layerstream import layer_stream

    memo = None if op.from_ref else _memo_file(host, tree, source, rel)
    earlier = _earlier(host, memo, rel, files) if reuse else None
    remember = None if memo is None else (lambda diff_id: _remember(host, memo, diff_id, rel, files))
    # the directories on the way are in the layer as they are now: give them their final times first
    dirtimes.settle(upper, lowers, {rel: os.stat(tree.root / source).st_mtime_ns})
    with layer_stream(clamp_mtime=host.epoch, on_commit=remember) as layer:
        try:
            exact = copystream.copy_tree(layer.stream, upper, rel, tree, source, placement, skip, earlier)
        except copystream.Unusable:
            layer.abandon()
            return None
        if not exact:
            layer.abandon()
    return layer


def _memo_file(host, tree: copy_ins.SourceTree, source: str, rel: str) -> Path:
    """The record of the last direct copy of ``source`` of ``tree`` to ``rel``: ``state/copies/<key>.json``,
    ``{"diff_id", "rel", "files"}`` with ``diff_id`` first. It keeps nothing alive: the store's gc removes
    it before (or once) its layer goes (`builder.store.gc`)."""
    from builder.store.gc import COPY_RECORDS

    key = hashlib.sha256(os.fsencode(f"{os.path.abspath(tree.root)}\0{source}\0{rel}")).hexdigest()
    return host.store.state_dir(COPY_RECORDS) / f"{key[:32]}.json"


def _earlier(host, memo: Path | None, rel: str, files: dict[str, str]):
    """The `copystream.Earlier` copy ``memo`` describes, if its layer is still in the store."""
    from builder.fsops import copystream

    if memo is None:
        return None
    try:
        record = json.loads(memo.read_bytes())
        layer = host.store.layer_path(record["diff_id"])
    except (OSError, ValueError, KeyError, TypeError, StoreError):
        return None  # none yet, damaged, or its layer pruned: copy everything
    if record.get("rel") != rel or not isinstance(record.get("files"), dict):
        return None
    return copystream.Earlier(layer / rel, record["files"], files)


def _remember(host, memo: Path, diff_id: str, rel: str, files: dict[str, str]) -> None:
    # Called once the layer is in the store: a record never names a layer that was not (yet) there. Written
    # beside in a staging directory (swept by the store if this process dies) and renamed over the old
    # record; not synced: a lost record only costs the next copy its links, never a wrong file.
    body = json.dumps({"diff_id": diff_id, "rel": rel, "files": files}, separators=(",", ":")).encode()
    scratch = host.store.staging_dir()
    try:
        (scratch / "record").write_bytes(body)
        os.replace(scratch / "record", memo)
    except OSError:
        pass
    finally:
        host.store.discard_staging(scratch)


def _place(root, tree, source, path, target, as_dir, placement, skip, extract, parents) -> None:
    if parents:
        # --parents keeps the matched path below the destination, from the segment after a "/./" in the
        # source (or from the root when there is none).
        dropped = len(copy_ins.clean_segments(source.split("/./", 1)[0])) if "/./" in source else 0
        kept = "/".join(copy_ins.clean_segments(path)[dropped:])
        target, as_dir = posixpath.join(target, kept), False
    if extract and add_ins.extract_if_archive(root, tree, path, target, placement):
        return
    copy_ins.copy_source(root, tree, path, target, as_dir, placement, skip)


def _material_digest(files: dict[str, str]) -> str:
    """A download's digest for provenance: a single file's content digest, else the digest of everything it
    holds as the cache key describes it."""
    contents = [
        part for description in files.values() for part in description.split() if part.startswith("sha256:")
    ]
    if len(files) == 1 and len(contents) == 1:
        return contents[0]
    return "sha256:" + hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def _fetch(host, source: str, op: CopyOp) -> add_ins.Fetched:
    return add_ins.fetch(source, host.keep(), checksum=op.checksum, keep_git_dir=op.keep_git_dir)


def _heredoc_tree(host, doc) -> tuple[copy_ins.SourceTree, str]:
    directory = host.keep()
    name = posixpath.basename(doc.name)
    path = directory / name
    path.write_text(doc.content, encoding="utf-8", errors="surrogateescape")
    os.chmod(path, 0o644)
    os.utime(path, ns=(0, 0))  # the layer is a function of the Buildfile, not of when it was built
    return copy_ins.SourceTree(directory, name="a heredoc"), name


def _exclude_rule(patterns) -> Callable[[str], bool] | None:
    if not patterns:
        return None
    from builder.context import IgnoreRules

    return IgnoreRules(list(patterns)).excludes


def _excluded(
    tree: copy_ins.SourceTree, resolved: str, skip: Callable[[str], bool] | None
) -> Callable[[str], bool] | None:
    """What the copy of source ``resolved`` leaves out, for its digest: entries the tree does not hold (the
    ignore file) and, below the source, those ``--exclude`` matches — as `copy_source` does, so an edit to
    an excluded file leaves the step cached."""
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
def _tree(host, op: CopyOp, trees: Mapping[TreeInput, Tree]) -> Iterator[copy_ins.SourceTree]:
    """The tree sources are read from: the context, a directory, or a stage's or image's root mounted."""
    if isinstance(op.tree, ContextInput):
        yield copy_ins.SourceTree(host.options.context, host.context_rule())
        return
    if isinstance(op.tree, DirectoryInput):
        # a --build-context directory is read as the context is: its files become root's, as in BuildKit
        yield copy_ins.SourceTree(Path(op.tree.path), name=f"--build-context {op.from_ref}")
        return
    tree = trees[op.tree]
    scratch = host.store.staging_dir()
    try:
        with runtime.overlay(list(tree.layers), scratch, state_dir=host.state_dir) as merged:
            yield copy_ins.SourceTree(merged, keep_owner=True, name=f"--from={op.from_ref}")
    finally:
        host.store.discard_staging(scratch)
