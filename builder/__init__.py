"""pybuild: build OCI container images from a Buildfile (the Dockerfile language) without a daemon.

The public Python API grows here as the builder does; importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
