"""The working state of the image a stage builds, changed step by step by the instruction modules.

`ImageState` wraps the image config document (a plain dict in the OCI/Docker shape, see ``builder.oci.config``)
and mutates it in place; the executor owns one per stage and copies it when a later stage starts FROM it.
"""

from __future__ import annotations

import copy
import posixpath
from dataclasses import dataclass, field

#: The PATH BuildKit gives a Linux image whose base sets none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: The shell of shell-form RUN/CMD/ENTRYPOINT when no SHELL instruction changed it.
DEFAULT_SHELL = ("/bin/sh", "-c")


@dataclass
class ImageState:
    """An image under construction. ``document`` is the image config; ``cmd_set`` records whether this
    stage ran CMD (ENTRYPOINT clears an inherited CMD only when it did not, as BuildKit does)."""

    document: dict
    cmd_set: bool = False
    layers: list[str] = field(default_factory=list)  # diff_ids, bottom first (mirrors rootfs.diff_ids)
    #: how many history entries came with the base image; the ones after it were made by this build
    base_history: int = 0
    #: the ``Env`` list `set_env` made last and the position of each key in it (see there)
    _env_index: tuple[list, dict[str, int]] | None = field(default=None, repr=False, compare=False)

    @property
    def config(self) -> dict:
        """The container config (``Env``, ``Cmd``, ``WorkingDir`` …), created on first use."""
        cfg = self.document.get("config")
        if cfg is None:
            cfg = self.document["config"] = {}
        return cfg

    def copy(self) -> ImageState:
        """An independent copy, for a stage built FROM this one (its ``cmd_set`` starts False)."""
        return ImageState(copy.deepcopy(self.document), False, list(self.layers), self.base_history)

    # --- environment -------------------------------------------------------------------------------------
    def env_items(self) -> list[tuple[str, str]]:
        """``Env`` as (key, value) pairs in order."""
        items = []
        for entry in self.config.get("Env") or []:
            key, _, value = entry.partition("=")
            items.append((key, value))
        return items

    def env(self) -> dict[str, str]:
        return dict(self.env_items())

    def set_env(self, key: str, value: str) -> None:
        """Replace ``key`` in place if present, else append it (Docker keeps the original order).

        The first call puts a copy of ``Env`` of the state's own in the config and notes where each key sits;
        later calls change that list in place, so a stage of many ENV pairs is linear in them, not quadratic.
        (Nothing keeps a reference to the list: a later stage starts from a deep copy, see `copy`.)
        """
        current = self.config.get("Env")
        index = self._env_index
        if index is None or index[0] is not current:
            entries = list(current or [])
            positions: dict[str, int] = {}
            for i, entry in enumerate(entries):
                positions.setdefault(entry.partition("=")[0], i)
            self.config["Env"] = entries
            index = self._env_index = (entries, positions)
        entries, positions = index
        at = positions.get(key)
        if at is None:
            positions[key] = len(entries)
            entries.append(f"{key}={value}")
        else:
            entries[at] = f"{key}={value}"

    def own_map(self, name: str) -> dict:
        """The config's map ``name`` (``Labels``, ``ExposedPorts``, ``Volumes``) to change in place, made if
        missing. In place is safe, as for `set_env`: the document is the state's own (deep copies only), and
        copying the map for each instruction made a stage of many LABEL lines quadratic in them."""
        value = self.config.get(name)
        if not isinstance(value, dict):
            value = self.config[name] = dict(value or {})
        return value

    def own_list(self, name: str) -> list:
        """The config's list ``name`` (``OnBuild``) to change in place, made if missing (see `own_map`)."""
        value = self.config.get(name)
        if not isinstance(value, list):
            value = self.config[name] = list(value or [])
        return value

    def ensure_default_path(self) -> None:
        """Give the image BuildKit's default PATH when its base sets none."""
        if "PATH" not in self.env():
            self.set_env("PATH", DEFAULT_PATH)

    # --- other fields ---------------------------------------------------------------------------------------
    @property
    def shell(self) -> tuple[str, ...]:
        return tuple(self.config.get("Shell") or DEFAULT_SHELL)

    @property
    def workdir(self) -> str:
        """The working directory as the clean absolute path steps use (``WorkingDir`` may keep a trailing
        slash or ``..`` as written, as BuildKit records it)."""
        return "/" + posixpath.normpath("/" + (self.config.get("WorkingDir") or "/")).lstrip("/")

    @property
    def user(self) -> str:
        return self.config.get("User") or ""

    # --- history and layers -----------------------------------------------------------------------------
    def add_history(self, created_by: str, *, created: str | None, empty_layer: bool) -> None:
        """Append a history entry the way BuildKit writes it (comment ``buildkit.dockerfile.v0``). A config-only
        entry may leave ``created`` None: `fill_history_times` gives it its neighbouring layer's time."""
        entry: dict = {"created": created, "created_by": created_by, "comment": "buildkit.dockerfile.v0"}
        if empty_layer:
            entry["empty_layer"] = True
        self.document.setdefault("history", []).append(entry)

    def fill_history_times(self, fallback: str) -> None:
        """Give each entry without a time the time of the layer step before it in this build, else of the first
        one after it, else ``fallback`` — BuildKit's choice, which keeps a fully cached rebuild's digest; then
        set the image's ``created`` to the last entry's time. An image with no entry of its own (``FROM``
        alone) keeps its base's ``created``, as BuildKit's does, SOURCE_DATE_EPOCH or not."""
        history = self.document.get("history") or []
        new = range(self.base_history, len(history))
        if not new:
            return
        pending = [i for i in new if history[i].get("created") is None]
        layer_times = [(i, history[i]["created"]) for i in new if not history[i].get("empty_layer")]
        for i in pending:
            before = [t for j, t in layer_times if j < i]
            after = [t for j, t in layer_times if j > i]
            history[i]["created"] = before[-1] if before else after[0] if after else fallback
        self.document["created"] = history[-1]["created"]

    def add_layer(self, diff_id: str) -> None:
        """Record a new top layer in ``rootfs.diff_ids``."""
        self.layers.append(diff_id)
        rootfs = self.document.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        rootfs["diff_ids"] = list(self.layers)
