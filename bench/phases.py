"""Run the pybuild CLI with wall-clock timers around chosen functions; print their totals on exit.

A coarse profile that threads and child processes cannot skew (unlike cProfile's per-call overhead)::

    python3 bench/phases.py builder.commit:write_layer,builder.fsops.copy:copy_source \\
        -- --root STORE build -f Buildfile -t x:1 CONTEXT

Each ``MODULE:ATTR`` (``ATTR`` may be dotted, e.g. ``Class.method``) is replaced by a timing wrapper in
``MODULE``'s namespace, so name it where it is looked up: a function imported by ``from x import f`` into
``y`` must be wrapped as ``y:f``. Totals go to standard error, largest first, with call counts.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_TOTALS: Counter[str] = Counter()
_CALLS: Counter[str] = Counter()


def _wrap(module_name: str, attr: str) -> None:
    owner = importlib.import_module(module_name)
    *path, last = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, last)
    label = f"{module_name}:{attr}"

    @functools.wraps(original)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _TOTALS[label] += time.perf_counter() - start
            _CALLS[label] += 1

    setattr(owner, last, timed)


def main() -> int:
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    targets, cli_args = sys.argv[1], sys.argv[3:]
    started = time.perf_counter()
    from builder import cli

    for target in targets.split(","):
        module_name, _, attr = target.partition(":")
        _wrap(module_name, attr)

    @atexit.register
    def _report() -> None:
        print(f"--- phases ({time.perf_counter() - started:.2f}s from the CLI's import)", file=sys.stderr)
        for label, seconds in _TOTALS.most_common():
            print(f"{seconds:8.3f}s  x{_CALLS[label]:<6} {label}", file=sys.stderr)

    sys.argv = ["pybuild", *cli_args]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
