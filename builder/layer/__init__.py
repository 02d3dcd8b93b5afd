"""Layers: an overlay-form directory → an OCI layer tar (``write_layer``), a layer tar → a directory
(``apply_layer``), and the compression both use.

The on-disk form of a layer is overlayfs' own (whiteouts as 0/0 character devices, opaque directories
marked with ``trusted.overlay.opaque=y``), so a step's upperdir is a layer as it stands and an applied layer
can be mounted straight away. See ``builder/layer/whiteouts.py`` for the conventions.
"""

from builder.layer.apply import apply_layer
from builder.layer.compress import COMPRESSIONS, open_compressed_writer, open_decompressed
from builder.layer.diff import LayerInfo, write_layer
from builder.layer.errors import LayerError
from builder.layer.form import ROOT_FORM, USER_NAMESPACE_FORM, LayerForm

__all__ = [
    "COMPRESSIONS",
    "LayerError",
    "LayerForm",
    "LayerInfo",
    "ROOT_FORM",
    "USER_NAMESPACE_FORM",
    "apply_layer",
    "open_compressed_writer",
    "open_decompressed",
    "write_layer",
]
