"""Layers: an overlay-form directory → an OCI layer tar (``write_layer``), a layer tar → a directory
(``apply_layer``), and the compression both use.

The on-disk form of a layer is overlayfs' own (whiteouts as 0/0 character devices, opaque directories
marked with ``trusted.overlay.opaque=y``), so a step's upperdir is a layer as it stands and an applied layer
can be mounted straight away. See ``builder/layer/whiteouts.py`` for the conventions.
"""

from importlib import import_module

# Names are imported from their module on first use (PEP 562): the store needs only `form` (the layer form it is
# told), and a fully cached build must not load the tar writer and reader to learn it.
_WHERE = {
    "apply_layer": "apply",
    "COMPRESSIONS": "compress",
    "open_compressed_writer": "compress",
    "open_decompressed": "compress",
    "Discard": "diff",
    "LayerInfo": "diff",
    "hash_layer": "diff",
    "write_layer": "diff",
    "LayerError": "errors",
    "ROOT_FORM": "form",
    "USER_NAMESPACE_FORM": "form",
    "LayerForm": "form",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"builder.layer.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'builder.layer' has no attribute {name!r}")


__all__ = [
    "COMPRESSIONS",
    "Discard",
    "LayerError",
    "LayerForm",
    "LayerInfo",
    "ROOT_FORM",
    "USER_NAMESPACE_FORM",
    "apply_layer",
    "hash_layer",
    "open_compressed_writer",
    "open_decompressed",
    "write_layer",
]
