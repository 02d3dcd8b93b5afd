"""``--cache-to`` / ``--cache-from`` values as buildx spells them.

* ``type=registry,ref=REPO:TAG[,mode=min|max]`` (a bare ``REPO:TAG`` means the same);
* ``type=local,dest=DIR[,mode=min|max]`` to export, ``type=local,src=DIR`` to import.

``mode`` (export only, default ``min``): ``min`` exports the records of the final image's layer steps,
``max`` those of every step of every stage built. ``ignore-error=true`` makes a failed export a warning.
buildx options that change nothing here (compression and media-type choices) are accepted and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.errors import UsageError

TYPES = ("registry", "local")
MODES = ("min", "max")
#: buildx options accepted for compatibility; pybuild's export already uses OCI media types and the layers'
#: own compression.
_IGNORED = frozenset(
    {"compression", "compression-level", "force-compression", "oci-mediatypes", "image-manifest"}
)
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


@dataclass(frozen=True)
class CacheSpec:
    """One cache location. ``location`` is the registry reference or the directory; ``export`` tells which
    option it came from."""

    type: str
    location: str
    export: bool
    mode: str = "min"
    ignore_error: bool = False

    def __str__(self) -> str:
        if self.type == "registry":
            return f"type=registry,ref={self.location}"
        return f"type=local,{'dest' if self.export else 'src'}={self.location}"


def parse_cache_spec(text: str, *, export: bool) -> CacheSpec:
    """Parse one ``--cache-to`` (``export``) or ``--cache-from`` value; raises `UsageError`."""
    option = "--cache-to" if export else "--cache-from"
    if "=" not in text:
        if not text.strip():
            raise UsageError(f"{option} needs a value, e.g. type=registry,ref=REPO:TAG")
        fields = {"type": "registry", "ref": text.strip()}
    else:
        fields = {}
        for part in text.split(","):
            key, eq, value = part.partition("=")
            if not eq:
                raise UsageError(f"invalid {option} {text!r}: expected key=value pairs")
            fields[key.strip().lower()] = value.strip()
    kind = fields.pop("type", "")
    if kind not in TYPES:
        shown = repr(kind) if kind else "(none)"
        raise UsageError(f"unsupported {option} type {shown}: pybuild supports type=registry and type=local")
    if kind == "registry":
        location = fields.pop("ref", "")
        needed = "ref=REPO:TAG"
    else:
        location = fields.pop("dest" if export else "src", "")
        needed = "dest=DIR" if export else "src=DIR"
    if not location:
        raise UsageError(f"{option} type={kind} needs {needed}")
    mode = fields.pop("mode", "min") or "min"
    if mode not in MODES:
        raise UsageError(f"invalid {option} mode {mode!r}: expected min or max")
    ignore = fields.pop("ignore-error", "false").lower()
    if ignore not in _TRUE + _FALSE:
        raise UsageError(f"invalid {option} ignore-error {ignore!r}: expected true or false")
    unknown = sorted(set(fields) - _IGNORED)
    if unknown:
        raise UsageError(f"unknown {option} option {unknown[0]!r} for type={kind}")
    if kind == "registry":
        _check_ref(location, option)
    return CacheSpec(kind, location, export, mode, ignore in _TRUE)


def _check_ref(text: str, option: str) -> None:
    from builder.refs import parse_ref

    try:
        parse_ref(text)
    except UsageError:
        raise UsageError(
            f"invalid {option} ref {text!r}: expected a repository name such as host/repo:tag"
        ) from None
