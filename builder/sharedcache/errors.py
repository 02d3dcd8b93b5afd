"""The one exception the executor needs from the shared cache, importable without loading anything else."""

from __future__ import annotations


class RemoteLayerFailed(Exception):
    """A layer a remote cache record promised could not be fetched or did not unpack to its diff_id.

    Not a `BuildError`: it never reaches the user. The executor catches it, drops the records naming
    ``diff_id`` (`SharedCache.forget`) and runs the build again, so the step that made the layer misses and
    runs; steps finished before are cached locally by then.
    """

    def __init__(self, diff_id: str, source: str, reason: str) -> None:
        super().__init__(f"cached layer {diff_id} from {source} is unusable: {reason}")
        self.diff_id = diff_id
        self.source = source
        self.reason = reason
