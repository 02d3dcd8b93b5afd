"""Runs one long step in a process of its own, so tests can signal or kill it mid-step.

Usage: python3 step_child.py STATE_DIR UPPERDIR LOWERDIR...  Prints the container's output as it comes.
"""

import sys
from pathlib import Path

from builder.runtime import ProcessSpec, run_step


def main() -> int:
    state, upper, *lowers = sys.argv[1:]

    def output(chunk: bytes) -> None:
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()

    spec = ProcessSpec(args=["/bin/sh", "-c", "echo started > /marker; echo started; exec sleep 60"])
    return run_step([Path(p) for p in lowers], Path(upper), spec, state_dir=Path(state), output=output)


if __name__ == "__main__":
    sys.exit(main())
