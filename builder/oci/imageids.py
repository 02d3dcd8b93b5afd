"""Image IDs as users type them: the one place that turns an ID, or a prefix of one, into a stored image.

An image's ID is its config digest (what ``build -q``, ``--iidfile``, ``images`` and ``import`` print); a
multi-platform build's ID is its index digest. A user may give it as ``sha256:<hex>``, as bare hex, or as any
unique prefix (of at least 4 hex digits, `builder.refs.looks_like_id`; ``images`` shows 12), as docker
accepts; a manifest digest is accepted the same way. `lookup` answers with the manifest or index blob the
ID denotes.

Images need not be tagged to be found: every commit (`record`, called by ``commit_image`` and
``commit_index``) leaves an empty file ``state/images/<ID hex>-<target hex>`` in the store. Creating it is
atomic and idempotent, so a crash leaves it whole or absent and concurrent builds of the same image agree.
Records are an index, not roots: the garbage collector may remove an untagged image's blobs as it always
could, and a record whose target blob has gone is ignored (and left: it costs an empty file). A record lost
to a power cut only makes its untagged image unfindable by ID, so none is synced.
"""

from __future__ import annotations

import os
import re
from contextlib import suppress

from builder.errors import BuildError
from builder.oci import media
from builder.oci.config import decode
from builder.oci.manifest import ManifestError, manifest_kind
from builder.refs import looks_like_id

_STATE = "images"
_HEX = re.compile(r"[0-9a-f]{64}")
_RECORD = re.compile(r"([0-9a-f]{64})-([0-9a-f]{64})")


class AmbiguousImageId(BuildError):
    """An ID prefix that more than one image in the store answers to."""


def record(store, image_id: str, target: str) -> None:
    """Note that ``image_id`` denotes the manifest or index blob ``target`` (both ``sha256:`` digests).
    Idempotent; a failure to write is ignored (the image is then found by its tags only)."""
    ident, blob = image_id.removeprefix("sha256:"), target.removeprefix("sha256:")
    if not (_HEX.fullmatch(ident) and _HEX.fullmatch(blob)):
        return
    with suppress(OSError):
        path = store.state_dir(_STATE) / f"{ident}-{blob}"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def forget(store, image_id: str) -> None:
    """Remove the records of ``image_id`` (``rmi`` of an untagged image): it is no longer found by its ID."""
    ident = image_id.removeprefix("sha256:")
    directory = store.state_dir(_STATE)
    for name in os.listdir(directory):
        if name.startswith(f"{ident}-"):
            with suppress(FileNotFoundError):
                os.unlink(directory / name)


def lookup(store, text: str) -> str | None:
    """The digest of the manifest or index that the ID (or manifest digest) ``text`` denotes, or None.

    ``text`` is ``sha256:<hex>`` or bare hex (`builder.refs.looks_like_id`); every image of the store is
    considered, tagged or recorded. Raises `AmbiguousImageId` when the prefix matches more than one image.
    """
    if not looks_like_id(text):
        return None
    prefix = text.removeprefix("sha256:")
    found: dict[str, str] = {}  # image ID → target blob
    for image_id, target in _candidates(store):
        if image_id.removeprefix("sha256:").startswith(prefix) or target.removeprefix("sha256:").startswith(
            prefix
        ):
            found.setdefault(image_id, target)
    if len(found) > 1:
        shown = ", ".join(sorted(i.removeprefix("sha256:")[:12] for i in found))
        raise AmbiguousImageId(
            f"image ID prefix {text} is ambiguous: it matches {len(found)} images ({shown})",
            hint="give more digits of the ID",
        )
    return next(iter(found.values()), None)


def _candidates(store):
    """(image ID, target) for every tagged image (an index: itself and its images the store holds) and every
    recorded one whose target is still stored."""
    seen: set[str] = set()
    for tagged in sorted(set(store.tags().values())):
        for image_id, target in _ids_of(store, tagged):
            seen.add(target)
            yield image_id, target
    with suppress(OSError):
        for name in sorted(os.listdir(store.state_dir(_STATE))):
            match = _RECORD.fullmatch(name)
            if match is None:
                continue
            target = f"sha256:{match.group(2)}"
            if target not in seen and store.has_blob(target):
                yield f"sha256:{match.group(1)}", target


def _ids_of(store, target: str) -> list[tuple[str, str]]:
    """(ID, blob) pairs the manifest or index blob ``target`` answers to: an image's config digest; an
    index's own digest and those of its images present in the store. Unreadable documents answer to none."""
    try:
        document = decode(store.read_blob(target), f"manifest {target}")
        if manifest_kind(document) in media.INDEXES:
            pairs = [(target, target)]
            for entry in document.get("manifests") or ():
                digest = entry.get("digest") if isinstance(entry, dict) else None
                if isinstance(digest, str) and store.has_blob(digest):
                    pairs.extend(_ids_of(store, digest) if entry.get("mediaType") in media.MANIFESTS else ())
            return pairs
        config = document.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        return [(digest, target)] if isinstance(digest, str) else []
    except (BuildError, ManifestError, OSError):
        return []
