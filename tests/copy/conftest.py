"""The build fixtures (a store with ``busybox:latest``, the CLI in a child process) for the COPY/ADD tests."""

from tests.build.conftest import busybox_dir, pybuild  # noqa: F401  (fixtures)
