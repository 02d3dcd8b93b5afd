"""What the solver produces: layers as typed values, and each stage's result."""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.instructions.state import ImageState


@dataclass(frozen=True)
class LayerRef:
    """A layer of an image: its diff_id, its blob (digest, size, media type), and — for a layer a step of a
    build made, run or cached — the time it was ``created`` (None for a base image's layer)."""

    diff_id: str
    digest: str
    size: int
    media_type: str
    created: str | None = None
    annotations: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_record(cls, record: dict) -> LayerRef:
        """From a cache record's result or a manifest's descriptor with a ``diff_id``."""
        annotations = record.get("annotations") or {}
        return cls(
            record["diff_id"],
            record["digest"],
            int(record["size"]),
            record["mediaType"],
            record.get("created"),
            tuple(sorted(annotations.items())),
        )

    def descriptor(self) -> dict:
        """The manifest's descriptor of the layer (fields in the order of the OCI spec's examples)."""
        from builder.oci.manifest import descriptor

        return descriptor(self.media_type, self.digest, self.size, annotations=dict(self.annotations) or None)

    def record(self) -> dict:
        """The form a cache record keeps: the descriptor with ``diff_id`` (and ``created``)."""
        made = {**self.descriptor(), "diff_id": self.diff_id}
        if self.created is not None:
            made["created"] = self.created
        return made


@dataclass
class StageResult:
    """A built stage: its image state (config, history, ``rootfs`` filled) and its layers, bottom first —
    one view: ``state.layers`` holds the same diff_ids."""

    state: ImageState
    layers: tuple[LayerRef, ...] = field(default_factory=tuple)

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]
