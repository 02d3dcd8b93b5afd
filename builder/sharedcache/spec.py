"""``--cache-to`` / ``--cache-from`` values as buildx spells them.

* ``type=registry,ref=REPO:TAG`` (a bare ``REPO:TAG`` means the same): a cache artifact in a repository, or,
  for ``--cache-from``, also an image pushed with an inline cache;
* ``type=local,dest=DIR`` to export, ``type=local,src=DIR`` to import;
* ``type=inline`` (export only): the cache records go into the image's config (`builder.sharedcache.inline`).

Export options, as BuildKit v0.13 takes them:

* ``mode=min|max`` (default ``min``): ``min`` exports the records of the final image's layer steps, ``max``
  those of every step of every stage built (``inline`` takes ``min`` only, as its records name the image's
  layers);
* ``image-manifest=true``: the artifact is one OCI image manifest (config: the index) rather than an index
  whose entries are the layers and the config; needs ``oci-mediatypes=true``;
* ``oci-mediatypes=true|false`` (default true): ``false`` writes a Docker manifest list and Docker layer types;
* ``compression=gzip|zstd|uncompressed``, ``compression-level=N``, ``force-compression=true``: the form of
  the exported layers (all of them are layers the build's steps made, so ``compression`` applies to every
  one, as ``force-compression`` would);
* ``ignore-error=true``: a failed export is a warning and the build succeeds.

Anything else is refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from builder.errors import UsageError
from builder.outputspec import COMPRESSIONS, LEVELS

TYPES = ("registry", "local", "inline")
MODES = ("min", "max")
#: the options each type takes when exporting, besides its location; imports take none.
_EXPORT_OPTIONS = {
    "registry": {
        "mode",
        "ignore-error",
        "image-manifest",
        "oci-mediatypes",
        "compression",
        "compression-level",
        "force-compression",
    },
    "inline": {"mode"},
}
_EXPORT_OPTIONS["local"] = _EXPORT_OPTIONS["registry"]
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


@dataclass(frozen=True)
class CacheSpec:
    """One cache location. ``location`` is the registry reference or the directory (empty for ``inline``);
    ``export`` tells which option it came from. ``compression`` is pybuild's name (gzip, zstd, none) or
    None to keep the layers' own."""

    type: str
    location: str
    export: bool
    mode: str = "min"
    ignore_error: bool = False
    image_manifest: bool = False
    oci_mediatypes: bool = True
    compression: str | None = None
    compression_level: int | None = None
    force_compression: bool = False

    def __str__(self) -> str:
        if self.type == "registry":
            return f"type=registry,ref={self.location}"
        if self.type == "inline":
            return "type=inline"
        return f"type=local,{'dest' if self.export else 'src'}={self.location}"


#: buildx's older spelling of ``--cache-to type=inline``: ``--build-arg BUILDKIT_INLINE_CACHE=1``.
INLINE_BUILD_ARG = "BUILDKIT_INLINE_CACHE"
#: the values Go's ``strconv.ParseBool`` reads as true, as buildx reads this build arg (others: false).
_GO_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})


def with_inline_build_arg(targets: list[CacheSpec], build_args: Mapping[str, str]) -> list[CacheSpec]:
    """``targets`` plus ``type=inline`` when ``build_args`` set `INLINE_BUILD_ARG` to a true value and no
    target is inline yet, as buildx does."""
    if build_args.get(INLINE_BUILD_ARG) in _GO_TRUE and not any(t.type == "inline" for t in targets):
        return [*targets, CacheSpec("inline", "", True)]
    return targets


def parse_cache_spec(text: str, *, export: bool) -> CacheSpec:
    """Parse one ``--cache-to`` (``export``) or ``--cache-from`` value; raises `UsageError`."""
    option = "--cache-to" if export else "--cache-from"
    fields = _fields(text, option)
    kind = fields.pop("type", "")
    if kind == "inline" and not export:
        raise UsageError(
            "unsupported --cache-from type 'inline': an inline cache is read from its image, "
            "--cache-from type=registry,ref=IMAGE (or just --cache-from IMAGE)"
        )
    if kind not in TYPES:
        shown = repr(kind) if kind else "(none)"
        raise UsageError(
            f"unsupported {option} type {shown}: pybuild supports type=registry, type=local"
            + (" and type=inline" if export else "")
        )
    location = ""
    if kind == "registry":
        location = fields.pop("ref", "")
        needed = "ref=REPO:TAG"
    elif kind == "local":
        location = fields.pop("dest" if export else "src", "")
        needed = "dest=DIR" if export else "src=DIR"
    if kind != "inline" and not location:
        raise UsageError(f"{option} type={kind} needs {needed}")
    allowed = _EXPORT_OPTIONS[kind] if export else set()
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise UsageError(f"unknown {option} option {unknown[0]!r} for type={kind}")
    if kind == "registry":
        _check_ref(location, option)
    mode = fields.get("mode", "min") or "min"
    if mode not in MODES:
        raise UsageError(f"invalid {option} mode {mode!r}: expected min or max")
    if kind == "inline" and mode != "min":
        raise UsageError(
            "--cache-to type=inline supports mode=min only: its records name the final image's layers",
            hint="export mode=max to a registry: --cache-to type=registry,ref=REPO:TAG,mode=max",
        )
    compression, level = _compression(fields, option)
    oci = _bool(fields, "oci-mediatypes", True, option)
    image_manifest = _bool(fields, "image-manifest", False, option)
    if image_manifest and not oci:
        raise UsageError(f"invalid {option}: image-manifest=true needs oci-mediatypes=true")
    return CacheSpec(
        kind,
        location,
        export,
        mode,
        ignore_error=_bool(fields, "ignore-error", False, option),
        image_manifest=image_manifest,
        oci_mediatypes=oci,
        compression=compression,
        compression_level=level,
        force_compression=_bool(fields, "force-compression", False, option),
    )


def _fields(text: str, option: str) -> dict[str, str]:
    if "=" not in text:
        if not text.strip():
            raise UsageError(f"{option} needs a value, e.g. type=registry,ref=REPO:TAG")
        return {"type": "registry", "ref": text.strip()}
    fields = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if not eq:
            raise UsageError(f"invalid {option} {text!r}: expected key=value pairs")
        fields[key.strip().lower()] = value.strip()
    return fields


def _bool(fields: dict[str, str], key: str, default: bool, option: str) -> bool:
    value = fields.get(key)
    if value is None:
        return default
    if value.lower() not in _TRUE + _FALSE:
        raise UsageError(f"invalid {option} {key} {value!r}: expected true or false")
    return value.lower() in _TRUE


def _compression(fields: dict[str, str], option: str) -> tuple[str | None, int | None]:
    compression = None
    if "compression" in fields:
        compression = COMPRESSIONS.get(fields["compression"].lower())
        if compression is None:
            raise UsageError(
                f"invalid {option} compression {fields['compression']!r}",
                hint=f"use one of {', '.join(COMPRESSIONS)}",
            )
    level = None
    if "compression-level" in fields:
        try:
            level = int(fields["compression-level"])
        except ValueError:
            raise UsageError(f"invalid {option} compression-level: it must be an integer") from None
        allowed = LEVELS[compression or "gzip"]
        if level not in allowed:
            raise UsageError(
                f"invalid {option} compression-level {level}: out of range for {compression or 'gzip'} "
                f"({allowed.start}-{allowed.stop - 1})"
            )
        compression = compression or "gzip"  # BuildKit's default compression, which the level applies to
    return compression, level


def _check_ref(text: str, option: str) -> None:
    from builder.refs import parse_ref

    try:
        parse_ref(text)
    except UsageError:
        raise UsageError(
            f"invalid {option} ref {text!r}: expected a repository name such as host/repo:tag"
        ) from None
