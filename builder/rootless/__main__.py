"""``python -m builder.rootless ARGS`` is ``pybuild ARGS`` entered into the user namespace first.

The same as ``python -m builder`` once the CLI calls `enter_namespace_if_needed` itself; kept as the
explicit form for scripts and tests.
"""

import sys

from builder.cli import exit_process, main
from builder.errors import BuildError, render
from builder.rootless import enter_namespace_if_needed

try:
    enter_namespace_if_needed(sys.argv[1] if len(sys.argv) > 1 else None)
except BuildError as error:
    print(render(error), file=sys.stderr)
    sys.exit(error.exit_code)
exit_process(main())
