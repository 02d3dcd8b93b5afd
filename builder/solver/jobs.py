"""How many steps run at once by default."""

from __future__ import annotations

import os


def default_jobs() -> int:
    """Twice the CPUs this process may use, at least 4: a step mostly waits on its process, the disk or the
    network, so more steps than CPUs keep the machine busy — BuildKit bounds nothing by default; pybuild
    bounds, so a Buildfile of a hundred stages does not start a hundred containers at once."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(4, 2 * cpus)
