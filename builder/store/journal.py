"""The store's journal of content not yet known to be on disk, kept per boot.

Blobs and layers are not flushed when they are written (a flush of a big layer, or `syncfs`, waits for every
other process's dirty data on the file system too). A process killed at any point loses nothing that reached
the page cache; only a power loss or a kernel crash can, and that always ends the boot. So, before a blob or
a layer becomes visible under its name, one line naming it is appended to ``journal/<boot_id>`` and that
small file is fsync'd: whatever a crash of the machine may have damaged is listed in the journal of a boot
that is over.

- `append` (while the content is still in its writer's session, before its rename) under the shared
  ``journal`` lock, so a `retire` never moves a file an entry is being added to.
- `foreign` lists the files of other boots: `Store.open` checks their entries (`builder.store.recovery`)
  and deletes them, under the store's exclusive lock.
- `retire` is a durability point off the build path (`Store.gc` calls it): the current boot's file is
  renamed aside, `syncfs` flushes everything its entries name, and then the file is deleted. If the machine
  crashes meanwhile, the renamed file is still a file of that boot and is checked after the restart.

Journal lines are JSON objects: ``{"blob": digest}`` or ``{"layer": diff_id, "clamp": seconds | null,
"derived": bool}`` (``derived``: the diff_id is what `builder.layer.write_layer` makes of the directory with
that mtime clamp, so it can be checked by writing the tar again; otherwise the layer was unpacked from a
blob). Unknown or damaged lines are reported by `read_entries` as None (their content cannot be trusted).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from builder.store.fsutil import fsync_dir, syncfs
from builder.store.locks import file_lock

JOURNAL_LOCK = "journal"
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str:
    """This boot's id (the kernel's random boot_id, without dashes); "unknown" where /proc does not say.

    With "unknown" every open counts as the same boot: nothing is checked, as before the journal existed."""
    try:
        text = _BOOT_ID.read_text().strip().replace("-", "")
    except OSError:
        return "unknown"
    return text if text.isalnum() else "unknown"


@dataclass(frozen=True)
class Entry:
    """One journal line: a blob (``kind`` "blob") or an unpacked layer (``kind`` "layer") named ``digest``.
    For a layer, ``derived`` says its diff_id is that of the directory's own tar with mtimes clamped at
    ``clamp``."""

    kind: str
    digest: str
    clamp: int | None = None
    derived: bool = False

    def line(self) -> bytes:
        if self.kind == "blob":
            body = {"blob": self.digest}
        else:
            body = {"layer": self.digest, "clamp": self.clamp, "derived": self.derived}
        return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def append(journal_dir: Path, locks_dir: Path, entry: Entry) -> None:
    """Add ``entry`` to this boot's journal and flush the journal (not the content it names)."""
    with file_lock(locks_dir, JOURNAL_LOCK, shared=True):
        path = journal_dir / boot_id()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            created = False
        except FileNotFoundError:
            journal_dir.mkdir(exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            created = True
        try:
            # One write with O_APPEND: concurrent appenders' lines never interleave.
            os.write(fd, entry.line())
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(journal_dir)


def foreign(journal_dir: Path) -> list[Path]:
    """The journal files of other boots (this boot's file, and files renamed aside by a `retire` of this
    boot, are not listed)."""
    current = boot_id()
    try:
        names = sorted(os.listdir(journal_dir))
    except FileNotFoundError:
        return []
    return [journal_dir / n for n in names if n.split(".", 1)[0] != current and not n.startswith(".")]


def read_entries(path: Path) -> list[Entry | None]:
    """The entries of one journal file; None for a line that does not parse (a torn or damaged line)."""
    entries: list[Entry | None] = []
    with contextlib.suppress(FileNotFoundError):
        for raw in path.read_bytes().splitlines():
            entries.append(_parse(raw))
    return entries


def _parse(raw: bytes) -> Entry | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("blob"), str):
        return Entry("blob", data["blob"])
    clamp = data.get("clamp")
    if isinstance(data.get("layer"), str) and (clamp is None or type(clamp) is int):
        return Entry("layer", data["layer"], clamp, data.get("derived") is True)
    return None


def retire(journal_dir: Path, locks_dir: Path) -> bool:
    """Make everything this boot's journal names durable, then forget it. Returns False if there was nothing
    to retire. One `syncfs` of the store's file system: call it only off the build path."""
    current = journal_dir / boot_id()
    with file_lock(locks_dir, JOURNAL_LOCK):
        with contextlib.suppress(FileNotFoundError):
            os.rename(current, journal_dir / f"{current.name}.{secrets.token_hex(4)}")
        # Also files a retire killed before it finished set aside: they are this boot's as well.
        aside = [journal_dir / n for n in os.listdir(journal_dir) if n.startswith(f"{current.name}.")]
    if not aside:
        return False
    # Every entry in them was appended after its content was written, so this flushes that content (and the
    # renames). New entries go to a new file meanwhile.
    syncfs(journal_dir)
    for path in aside:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    fsync_dir(journal_dir)
    return True
