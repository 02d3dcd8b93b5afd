"""The steps that make layers — RUN, COPY/ADD, WORKDIR — each with the cache in front of it.

`StepRunner` (``runner.py``) is the shared mechanism: look the step's readable parts up in the cache; on a
miss fill a staging directory of the store through the step's fill function (the overlay's upperdir), stream
it into a layer blob and move it into the store. A failed or interrupted step discards its staging directory.
Each step kind lives in its own module and returns ``(parts, fill, history text)``.
"""

from builder.steps.runner import StepRunner

__all__ = ["StepRunner"]
