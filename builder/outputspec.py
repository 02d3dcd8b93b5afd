"""``-o``/``--output`` and ``--annotation`` as buildx parses them, into typed `OutputSpec` values.

An output is CSV (``type=image,"name=a:1,b:2",push=true``: a field holding commas is quoted, as buildx's
``encoding/csv`` reader allows). A value without ``=`` is a directory for ``type=local``; ``-`` alone is
``type=tar,dest=-`` (the root filesystem on stdout). Every key pybuild does not implement is refused with its
name, never ignored; `OUTPUT_KEYS` lists the ones it does.

Annotations (buildx's ``annotation.KEY=V`` exporter fields and ``--annotation [TYPES[PLATFORM]:]KEY=V``)
become `Annotation` values with a level: ``manifest`` (the image manifest; the default), ``index`` (the
index of a multi-platform image), ``manifest-descriptor`` (the descriptor of each manifest in an index) or
``index-descriptor`` (the descriptor of the index in an OCI layout's ``index.json``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

from builder.errors import UsageError

OUTPUT_TYPES = ("image", "registry", "oci", "docker", "local", "tar")
ANNOTATION_LEVELS = ("manifest", "index", "manifest-descriptor", "index-descriptor")
#: buildx's names for the layer compressions pybuild writes (``uncompressed`` is pybuild's ``none``).
COMPRESSIONS = {"gzip": "gzip", "zstd": "zstd", "uncompressed": "none"}
LEVELS = {"gzip": range(0, 10), "zstd": range(0, 23), "none": range(0, 1)}

#: the keys each output type takes (besides ``type``, ``annotation*`` and the image keys below)
_IMAGE_KEYS = {"compression", "compression-level", "force-compression", "oci-mediatypes", "rewrite-timestamp"}
OUTPUT_KEYS: dict[str, set[str]] = {
    "image": {"name", "push"} | _IMAGE_KEYS,
    "registry": {"name", "push"} | _IMAGE_KEYS,
    "oci": {"dest", "name", "tar"} | _IMAGE_KEYS,
    # a docker-archive holds uncompressed layers and no manifest: nothing to compress or annotate
    "docker": {"dest", "name", "rewrite-timestamp"},
    "local": {"dest"},
    "tar": {"dest"},
}
_ANNOTATION_KEY = re.compile(r"^annotation(?:-(?P<level>[a-z-]+))?(?:\[(?P<platform>[^\]]*)\])?\.(?P<key>.+)$")


@dataclass(frozen=True)
class Annotation:
    """One annotation: ``level`` (one of `ANNOTATION_LEVELS`), ``platform`` (``linux/amd64``; None = all)."""

    level: str
    key: str
    value: str
    platform: str | None = None

    def applies_to(self, platform) -> bool:
        """Whether it belongs on the manifest of ``platform`` (a `builder.platforms.Platform`)."""
        if self.platform is None:
            return True
        from builder.platforms import parse_platforms

        return parse_platforms(self.platform)[0].matches(platform.descriptor_platform())


@dataclass(frozen=True)
class OutputSpec:
    """One ``-o``. ``dest`` ``-`` means stdout; ``names`` are references the result is stored (and for
    ``push``, pushed) under, besides ``-t``; ``compression`` is gzip/zstd/none or None (keep the layers')."""

    type: str
    dest: str | None = None
    names: tuple[str, ...] = ()
    push: bool = False
    tar: bool = True
    compression: str | None = None
    compression_level: int | None = None
    force_compression: bool = False
    oci_mediatypes: bool | None = None
    rewrite_timestamp: bool = False
    annotations: tuple[Annotation, ...] = field(default_factory=tuple)

    @property
    def to_stdout(self) -> bool:
        return self.dest == "-"

    @property
    def sends(self) -> bool:
        """Whether the image leaves the store with its manifest (pushed, or written as an OCI layout): its
        layers then need blobs kept as files, compressed unless asked otherwise. (A Docker archive holds
        layer tars and no manifest; ``local`` and ``tar`` hold files.)"""
        return self.push or self.type in ("registry", "oci")

    @property
    def reshapes(self) -> bool:
        """Whether the image must be rewritten for this output (layers recompressed, documents changed)."""
        return bool(
            self.compression or self.compression_level is not None or self.oci_mediatypes is False
        ) or any(a.level in ("manifest", "index", "manifest-descriptor") for a in self.annotations)


def _bool(spec: str, key: str, value: str) -> bool:
    if value.lower() in ("true", "1", ""):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise UsageError(f"invalid --output {spec!r}: {key}={value!r} is not true or false")


def _fields(spec: str, what: str = "--output") -> list[tuple[str, str]]:
    try:
        row = next(csv.reader([spec]), [])
    except csv.Error as error:
        raise UsageError(f"invalid {what} {spec!r}: {error}") from None
    pairs = []
    for part in row:
        key, eq, value = part.partition("=")
        if not eq:
            raise UsageError(f"invalid {what} {spec!r}: {part!r} is not key=value")
        pairs.append((key.strip().lower() if not key.startswith("annotation") else key.strip(), value))
    return pairs


def parse_annotation_field(key: str, value: str, what: str) -> Annotation:
    """An ``annotation[-LEVEL][[PLATFORM]].KEY`` exporter field as an `Annotation`."""
    match = _ANNOTATION_KEY.match(key)
    level = (match.group("level") or "manifest") if match else None
    if match is None or level not in ANNOTATION_LEVELS:
        raise UsageError(
            f"invalid {what}: unknown annotation field {key!r}",
            hint="annotation.KEY, annotation-manifest.KEY, annotation-index.KEY, "
            "annotation-manifest-descriptor.KEY or annotation-index-descriptor.KEY",
        )
    return Annotation(level, match.group("key"), value, match.group("platform") or None)


def parse_annotation(text: str) -> list[Annotation]:
    """``--annotation [TYPE[,TYPE…]][[PLATFORM]]:KEY=VALUE`` (buildx's syntax; no type means manifest)."""
    head, colon, rest = text.partition(":")
    types_part = re.match(r"^(?P<types>[a-z,-]*)(?:\[(?P<platform>[^\]]*)\])?$", head) if colon else None
    if types_part and "=" not in head and (types_part.group("types") or types_part.group("platform")):
        levels = [t for t in (types_part.group("types") or "manifest").split(",") if t]
        platform = types_part.group("platform") or None
        pair = rest
    else:
        levels, platform, pair = ["manifest"], None, text
    key, eq, value = pair.partition("=")
    if not key or not eq:
        raise UsageError(f"invalid --annotation {text!r}: expected [TYPE:]KEY=VALUE")
    for level in levels:
        if level not in ANNOTATION_LEVELS:
            raise UsageError(
                f"invalid --annotation {text!r}: unknown type {level!r}",
                hint=f"types: {', '.join(ANNOTATION_LEVELS)}",
            )
    return [Annotation(level, key, value, platform) for level in levels]


def parse_output(spec: str) -> OutputSpec:
    """One ``-o`` value as an `OutputSpec`; raises `UsageError` naming any key or value pybuild refuses."""
    if spec.strip() == "-":
        return OutputSpec("tar", dest="-")
    if "=" not in spec:
        return OutputSpec("local", dest=spec)
    pairs = _fields(spec)
    kinds = [value for key, value in pairs if key == "type"]
    if not kinds:
        raise UsageError(f"invalid --output {spec!r}: type=… is required")
    kind = kinds[-1].strip()
    if kind not in OUTPUT_TYPES:
        raise UsageError(f"unsupported output type {kind!r} (supported: {', '.join(OUTPUT_TYPES)})")
    values: dict = {}
    annotations = []
    for key, value in pairs:
        if key == "type":
            continue
        if key.startswith("annotation"):
            _annotatable(kind)
            annotations.append(parse_annotation_field(key, value, f"--output {spec!r}"))
            continue
        if key not in OUTPUT_KEYS[kind]:
            raise UsageError(
                f"--output type={kind}: option {key!r} is not supported by pybuild",
                hint=f"type={kind} takes {', '.join(sorted(OUTPUT_KEYS[kind] | {'annotation.KEY'}))}"
                if kind not in ("local", "tar")
                else f"type={kind} takes dest",
            )
        values[key] = value
    return _spec(spec, kind, values, tuple(annotations))


def _spec(spec: str, kind: str, values: dict[str, str], annotations: tuple[Annotation, ...]) -> OutputSpec:
    compression = None
    if "compression" in values:
        compression = COMPRESSIONS.get(values["compression"].strip().lower())
        if compression is None:
            raise UsageError(
                f"--output {spec!r}: compression {values['compression']!r} is not supported",
                hint=f"use one of {', '.join(COMPRESSIONS)}",
            )
    level = None
    if "compression-level" in values:
        try:
            level = int(values["compression-level"])
        except ValueError:
            raise UsageError(f"--output {spec!r}: compression-level must be an integer") from None
        allowed = LEVELS[compression or "gzip"]
        if level not in allowed:
            raise UsageError(
                f"--output {spec!r}: compression-level {level} is out of range for "
                f"{compression or 'gzip'} ({allowed.start}-{allowed.stop - 1})"
            )
    force = _bool(spec, "force-compression", values.get("force-compression", "false"))
    if compression is None and (force or level is not None):
        compression = "gzip"  # BuildKit's default compression, which these fields then apply
    push = _bool(spec, "push", values.get("push", "false"))
    if kind == "registry":
        push = True
    dest = values.get("dest")
    if kind in ("oci", "docker", "local", "tar") and not dest:
        raise UsageError(f"--output type={kind} needs dest=PATH (or dest=- for stdout)")
    if kind == "local" and dest == "-":
        raise UsageError("dest cannot be stdout for local exporter", hint="use -o type=tar,dest=- for a tar")
    if dest == "-" and values.get("tar", "true").lower() in ("false", "0"):
        raise UsageError(f"--output {spec!r}: tar=false writes a directory, which cannot go to stdout")
    oci = values.get("oci-mediatypes")
    return OutputSpec(
        kind,
        dest=dest,
        names=tuple(n.strip() for n in values.get("name", "").split(",") if n.strip()),
        push=push,
        tar=_bool(spec, "tar", values.get("tar", "true")),
        compression=compression,
        compression_level=level,
        force_compression=force,
        oci_mediatypes=None if oci is None else _bool(spec, "oci-mediatypes", oci),
        rewrite_timestamp=_bool(spec, "rewrite-timestamp", values.get("rewrite-timestamp", "false")),
        annotations=annotations,
    )


def _annotatable(kind: str) -> None:
    if kind == "docker":
        raise UsageError(
            "--output type=docker: a docker-archive has no manifest to annotate",
            hint="use -o type=oci for an annotated archive",
        )


def with_annotations(output: OutputSpec, annotations: list[Annotation]) -> OutputSpec:
    """``output`` with ``--annotation`` values added (buildx gives them to every image output)."""
    if not annotations or output.type in ("local", "tar"):
        return output
    _annotatable(output.type)
    from dataclasses import replace

    return replace(output, annotations=output.annotations + tuple(annotations))


def check_outputs(outputs: list[OutputSpec], *, tags: list[str], several: bool, epoch_set: bool) -> None:
    """Refuse, before any step runs, outputs that cannot hold the result: a push with no name, an archive
    format that holds one image for several platforms, two outputs on stdout or one on a terminal, index
    annotations on a single-platform image (BuildKit's refusal too), and ``rewrite-timestamp`` without
    SOURCE_DATE_EPOCH (there is no time to rewrite to)."""
    import sys

    from builder.refs import parse_ref

    for output in outputs:
        for name in output.names:
            parse_ref(name)  # a UsageError with Docker's wording
        if output.push and not (output.names or tags):
            raise UsageError("--push needs a name: give -t REGISTRY/NAME:TAG")
        if several and output.type in ("docker", "tar"):
            raise UsageError(
                f"-o type={output.type} cannot hold a multi-platform image",
                hint="use -o type=oci (an image index) or -o type=local (a directory per platform)",
            )
        levels = {a.level for a in output.annotations}
        if not several and levels & {"index", "index-descriptor"}:
            raise UsageError("index annotations not supported for single platform export")
        if not several and "manifest-descriptor" in levels and output.type != "oci":
            raise UsageError(
                f"-o type={output.type}: manifest-descriptor annotations need an index to hold the descriptor",
                hint="build several platforms, or use -o type=oci (its index.json describes the manifest)",
            )
        if "index-descriptor" in levels and output.type != "oci":
            raise UsageError(
                f"-o type={output.type}: index-descriptor annotations need an OCI layout (type=oci)"
            )
        if output.rewrite_timestamp and not epoch_set:
            raise UsageError(
                "-o rewrite-timestamp=true needs SOURCE_DATE_EPOCH",
                hint="set it in the environment or with --build-arg SOURCE_DATE_EPOCH=…",
            )
    on_stdout = [output for output in outputs if output.to_stdout]
    if len(on_stdout) > 1:
        raise UsageError("only one output can be written to stdout (dest=-)")
    if on_stdout and sys.stdout.isatty():
        raise UsageError(
            f"output file is required for {on_stdout[0].type} exporter. refusing to write to console"
        )
