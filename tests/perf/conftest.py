"""The whole-build fixtures of ``tests/build`` (a private store with busybox, the CLI in a child process)."""

from tests.build.conftest import Pybuild, busybox_dir, pybuild, write_context

__all__ = ["Pybuild", "busybox_dir", "pybuild", "write_context"]
